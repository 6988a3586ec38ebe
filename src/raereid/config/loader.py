"""Build a `Config` from a preset name or YAML file plus `key=value` overrides, with type and range checks.

Types are checked here as each value is set; ranges (`validation.py`) once the config is complete,
naming where each value came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from raereid.config.schema import Config, flat_values
from raereid.config.validation import ORIGINS_ATTR, origin, validate_config
from raereid.errors import ConfigError
from raereid.plugins import KEY as PLUGINS_KEY
from raereid.plugins import import_plugins

PRESET_PACKAGE = "raereid.config.presets"
def list_presets() -> list[str]:
    """Names of the presets shipped with the package."""
    return sorted(p.name[:-5] for p in resources.files(PRESET_PACKAGE).iterdir() if p.name.endswith(".yaml"))


def read_yaml(source: str) -> tuple[dict, str]:
    """The mapping of a YAML file (or a preset's, by name) and where it came from; ConfigError naming the file when
    it is missing, a folder, not text, not YAML or not a mapping."""
    path = Path(source).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if path.is_dir():
            inside = path / "config.yaml"
            raise ConfigError("the config is a folder, not a YAML file", where=path,
                              fix=f"pass {inside} (a run's resolved config)" if inside.is_file() else
                              f"pass a YAML file or one of the presets: {', '.join(list_presets())}")
        if not path.is_file():
            raise ConfigError("config file not found", where=path,
                              fix=f"pass a YAML file or one of the presets: {', '.join(list_presets())}")
        try:
            text, where = path.read_text(encoding="utf-8"), str(path)
        except UnicodeDecodeError:
            raise ConfigError("the config is not a YAML text file (a checkpoint? an image?)", where=path,
                              fix="pass a YAML file, e.g. a run's config.yaml (next to its model.pt), or a "
                                  "preset") from None
    else:
        preset = resources.files(PRESET_PACKAGE) / f"{source}.yaml"
        if not preset.is_file():
            raise ConfigError(f"unknown preset {source!r}{did_you_mean(source, list_presets(), 0.6)}",
                              fix=f"use one of {', '.join(list_presets())}, or a path to a YAML file")
        text, where = preset.read_text(encoding="utf-8"), f"preset {source}"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML ({exc})", where=where, fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of sections", where=where,
                          fix="write sections like 'train:' with 'key: value' lines")
    return data, where


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    """Check (and for strings from the command line, convert) `value` against the field's type."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value in choices:
            return value
        listed = ", ".join(map(str, choices))
        raise ConfigError(f"{key}: expected one of {listed}, got {value!r}", where=where,
                          fix=f"write {key}=<one of {listed}>")
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, key, where)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a valid {hint}", where=where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, str):
            value = [v for v in value.strip("[] ").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}", where=where, fix=f"write {key}=a,b,c")
        return [_coerce(v, item, key, where) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}", where=where)
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}", where=where)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected an integer, got {value!r}", where=where, fix=f"write {key}=<integer>")
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}", where=where)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected a number, got {value!r}", where=where, fix=f"write {key}=<number>")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}", where=where)
    raise ConfigError(f"{key}: unsupported field type {hint}", where=where)


def _section_fields(section: Any) -> dict[str, Any]:
    return typing.get_type_hints(type(section))


def did_you_mean(word: str, options: list[str], cutoff: float = 0.8) -> str:
    """' (did you mean X?)' for the closest of `options` to a misspelt `word`, or '' when none is close. A key
    given in the wrong section also finds the keys of that name in the other sections."""
    close = difflib.get_close_matches(word, options, n=2, cutoff=cutoff)
    name = word.rpartition(".")[2]
    close += [o for o in options if "." in word and o.rpartition(".")[2] == name and o not in close]
    return f" (did you mean {' or '.join(close[:3])}?)" if close else ""


def _unknown_section(name: str, cfg: Config, where: str) -> ConfigError:
    sections = [f.name for f in dataclasses.fields(cfg)]
    return ConfigError(f"unknown config section {name!r}{did_you_mean(name, sections, 0.6)}", where=where,
                       fix=f"sections are {', '.join(sections)} (raereid config --list shows every key)")


def apply_mapping(cfg: Config, data: dict, where: str, origins: dict[str, str] | None = None) -> None:
    """Set every `section: {key: value}` of `data` on `cfg`, refusing unknown keys; record `where` in `origins`.
    `custom_imports: [modules]` is short for `custom_imports: {imports: [modules]}`."""
    sections = {f.name for f in dataclasses.fields(cfg)}
    for section_name, values in data.items():
        if section_name == PLUGINS_KEY.split(".")[0] and isinstance(values, (list, str)):
            values = {PLUGINS_KEY.split(".")[1]: values}
        if section_name not in sections:
            raise _unknown_section(section_name, cfg, where)
        if not isinstance(values, dict):
            raise ConfigError(f"section {section_name!r} must be a mapping of key: value", where=where)
        for key, value in values.items():
            set_value(cfg, f"{section_name}.{key}", value, where, origins)


def set_value(cfg: Config, dotted: str, value: Any, where: str = "--set",
              origins: dict[str, str] | None = None) -> None:
    """Set `section.key` to `value` after type checking; record `where` in `origins`."""
    parts = dotted.split(".")
    if len(parts) != 2:
        named = [k for k in flat_values(cfg) if k.rpartition(".")[2] == dotted]
        hint = f" (did you mean {' or '.join(named)}?)" if named else ""
        raise ConfigError(f"config key {dotted!r} must be section.key{hint}", where=where,
                          fix="e.g. --set optim.iterations=500 (raereid config --list shows every key)")
    section_name, key = parts
    section = getattr(cfg, section_name, None)
    if section is None or not dataclasses.is_dataclass(section):
        raise _unknown_section(section_name, cfg, where)
    hints = _section_fields(section)
    if key not in hints:
        raise ConfigError(f"unknown config key {dotted!r}{did_you_mean(dotted, list(flat_values(cfg)))}", where=where,
                          fix=f"keys of {section_name}: {', '.join(hints)}")
    value = _coerce(value, hints[key], dotted, where)
    if dotted == PLUGINS_KEY:  # every source (base preset, file, --set, --import) adds modules to import
        value = [*getattr(section, key), *value]
        if origins is not None and dotted in origins:
            where = f"{origins[dotted]}; {where}"
    setattr(section, key, value)
    if origins is not None:
        origins[dotted] = where


def parse_override(text: str) -> tuple[str, str]:
    """Split a command-line override `section.key=value`."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not key=value", where="--set", fix="e.g. --set optim.iterations=500")
    key, value = text.split("=", 1)
    return key.strip(), value


def _read_chain(source: str, seen: tuple[str, ...] = ()) -> list[tuple[dict, str]]:
    """The mappings of a preset or file and of the presets it builds on (`base: NAME_OR_FILE`), base first."""
    data, where = read_yaml(source)
    base = data.pop("base", None)
    if base is None:
        return [(data, where)]
    if not isinstance(base, str):
        raise ConfigError(f"base must be a preset name or a file, got {base!r}", where=where,
                          fix="write e.g. 'base: duke2market'")
    if where in seen:
        raise ConfigError(f"presets build on each other in a loop ({' -> '.join((*seen, where))})", where=where,
                          fix="remove one 'base:'")
    sibling = Path(where).parent / base
    return _read_chain(str(sibling) if Path(where).is_file() and sibling.is_file() else base,
                       (*seen, where)) + [(data, where)]


def load_config(source: str | None = None, overrides: list[str | tuple[str, str]] | None = None) -> Config:
    """Defaults (the paper's values), then the preset or YAML file (after the ones it builds on), then `key=value`
    overrides, then range checks.

    An override is "key=value" (reported as `--set key=value`) or ("key=value", where), e.g. from a
    command-line flag such as `--out`."""
    cfg = Config()
    origins: dict[str, str] = {}
    chain = _read_chain(source) if source else []
    for data, where in chain:  # a value from a base is credited to what the user named: "preset a (from b)"
        named = chain[-1][1]
        apply_mapping(cfg, data, where if where == named else f"{named} (from {where.removeprefix('preset ')})",
                      origins)
    for item in overrides or []:
        text, where = (item, f"--set {item}") if isinstance(item, str) else item
        key, value = parse_override(text)
        set_value(cfg, key, value, where, origins)
    return _validated(cfg, origins)


def _validated(cfg: Config, origins: dict[str, str]) -> Config:
    """Import the config's plugins (their registries then hold the names the config may use), then check it."""
    setattr(cfg, ORIGINS_ATTR, origins)
    cfg.custom_imports.imports = import_plugins(cfg.custom_imports.imports, origin(cfg, PLUGINS_KEY))
    return validate_config(cfg)


def config_to_dict(cfg: Config) -> dict:
    """The config as plain nested dicts (what checkpoints store)."""
    return dataclasses.asdict(cfg)


def config_from_dict(data: dict, where: str = "checkpoint") -> Config:
    """A config from `config_to_dict` output (a checkpoint's), type- and range-checked."""
    cfg = Config()
    origins: dict[str, str] = {}
    apply_mapping(cfg, data, where, origins)
    return _validated(cfg, origins)
