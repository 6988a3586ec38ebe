"""The rows file of an experiment (a results table of the docs, benchmarks/tables/NAME.yaml, or the demo's,
experiments/rows/demo.yaml), read and checked into a `TableSpec`.

Every mistake is a ConfigError naming the file, the key (e.g. rows[2].variant) and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from raereid.config.variants import VARIANTS
from raereid.errors import ConfigError

TRANSLATED = "{translated}"  # replaced by the folder `raereid translate` wrote for the draw
SPLIT_KEYS = ("rank5", "rank10", "mINP")  # of the reported split, like mAP and rank1
TOP_KEYS = ("psnr_source", "psnr_target", "ssim_source", "ssim_target")  # top level of metrics.json
LOG_KEYS = ("ari_first", "ari_last")  # from train.log
LABEL_FREE_KEYS = ("label_free_score",)  # metrics.json label_free: the final model's label-free score (no label read)
COLUMNS = (*SPLIT_KEYS, *TOP_KEYS, *LOG_KEYS, *LABEL_FREE_KEYS)
# Keys the script sets itself for every run: a file must not override them.
RESERVED = {"train.init": "the script starts every adapted row from its source stage's model.pt",
            "train.seed": "seeds come from `seeds:` or --seeds", "train.output": "run folders are under --out",
            "data.root": "the data root is the --draw folder", "train.variant": "use the row's `variant:`"}
FILE_KEYS = {"name", "title", "config", "iterations", "set", "seeds", "columns", "layout", "source_stages", "rows",
             "translate"}
# Where the runs go under the output folder (experiments/plan.py): "table" DRAW/stages/STAGE/seedS and
# DRAW/rows/LABEL/seedS; "flat" (one draw, one seed: the demo's) STAGE/ and LABEL/.
LAYOUTS = ("table", "flat")
STAGE_KEYS = {"config", "source", "set"}
ROW_KEYS = {"label", "variant", "set", "config", "source_stage", "source"}
TRANSLATE_KEYS = {"config", "source", "target", "set"}


@dataclass(frozen=True)
class Stage:
    """A source stage: `raereid train --variant direct`, once per seed and draw; rows start from its model.pt."""

    name: str
    config: str
    source: str | None
    sets: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One line of the table: a variant trained from its source stage (or the stage itself for `direct`)."""

    label: str
    variant: str
    config: str
    stage: str
    source: str | None  # the row's own `source:`, else its stage's
    sets: tuple[str, ...]

    @property
    def slug(self) -> str:
        """The row's folder name, from its label."""
        return re.sub(r"[^A-Za-z0-9+.-]+", "_", self.label).strip("_") or "row"


@dataclass(frozen=True)
class Translate:
    """The `raereid translate` run made once per draw; its folder replaces {translated}."""

    config: str
    source: str
    target: str | None
    sets: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """A rows file: every run's preset and overrides, its source stages, rows, seeds, columns and layout."""

    path: Path
    name: str
    title: str
    config: str
    iterations: int | None
    sets: tuple[str, ...]
    seeds: tuple[int, ...]
    columns: tuple[str, ...]
    layout: str
    stages: dict[str, Stage]
    rows: tuple[Row, ...]
    translate: Translate | None


class _Reader:
    """Typed access to the YAML mapping with errors that name the file and the key."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, what: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {what}", where=f"{self.path} -> {key}", fix=fix)

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}",
                            f"write {key or 'the file'} as `key: value` lines")
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], "unknown key",
                            f"use only {', '.join(sorted(allowed))}")
        return value

    def text(self, data: dict, key: str, where: str, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(where, f"expected a non-empty string, got {value!r}", f"write {key}: followed by text")
        return value

    def sets(self, data: dict, where: str, reserved: dict[str, str] = RESERVED) -> tuple[str, ...]:
        value = data.get("set") or []
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of 'key=value' strings, got {value!r}",
                            "write set: [model.pooling=gem, train.adabn=true]")
        for i, item in enumerate(value):
            key, eq, _ = str(item).partition("=")
            if not isinstance(item, str) or not eq or not key.strip():
                raise self.fail(f"{where}[{i}]", f"expected 'section.key=value', got {item!r}",
                                "write each override as section.key=value, e.g. cluster.rho=0.0032")
            if key.strip() in reserved:
                raise self.fail(f"{where}[{i}]", f"{key.strip()} cannot be set here: {reserved[key.strip()]}",
                                f"remove {item!r}")
        return tuple(value)


def _ints(reader: _Reader, value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or any(not isinstance(v, int) or isinstance(v, bool) for v in value):
        raise reader.fail(key, f"expected a non-empty list of integers, got {value!r}", "write seeds: [0, 1, 2]")
    if len(set(value)) != len(value):
        raise reader.fail(key, f"repeated seed in {value}", "list each seed once")
    return tuple(value)


def _stages(r: _Reader, data: dict, config: str) -> dict[str, Stage]:
    raw = data.get("source_stages", {"default": {}})
    if not isinstance(raw, dict) or not raw:
        raise r.fail("source_stages", f"expected a mapping of stage names, got {raw!r}",
                     "write source_stages: {default: {}, gem: {set: [model.pooling=gem]}}")
    stages = {}
    for name, body in raw.items():
        if not re.fullmatch(r"[A-Za-z0-9_-]+", str(name)):
            raise r.fail(f"source_stages.{name}", "a stage name must be letters, digits, _ or -", "rename it, e.g. gem")
        where = f"source_stages.{name}"
        body = r.mapping(body, where, STAGE_KEYS)
        stages[str(name)] = Stage(str(name), r.text(body, "config", f"{where}.config", config),
                                  r.text(body, "source", f"{where}.source"), r.sets(body, f"{where}.set"))
    return stages


def _row(r: _Reader, body: Any, i: int, config: str, stages: dict[str, Stage]) -> Row:
    where = f"rows[{i}]"
    body = r.mapping(body, where, ROW_KEYS)
    for key in ("label", "variant"):
        if key not in body:
            raise r.fail(where, f"no {key}", 'write each row as {label: "+ FT", variant: ft}')
    label, variant = r.text(body, "label", f"{where}.label"), r.text(body, "variant", f"{where}.variant")
    if variant not in VARIANTS:
        raise r.fail(f"{where}.variant", f"unknown variant {variant!r}", f"use one of {', '.join(VARIANTS)}")
    stage = r.text(body, "source_stage", f"{where}.source_stage", "default")
    if stage not in stages:
        raise r.fail(f"{where}.source_stage", f"no source stage {stage!r}",
                     f"declare it under source_stages (declared: {', '.join(stages) or 'none'})")
    if variant == "direct" and set(body) - {"label", "variant", "source_stage"}:
        raise r.fail(where, "a direct row is its source stage's own run and takes no config, source or set",
                     f"put them under source_stages.{stage}")
    return Row(label, variant, r.text(body, "config", f"{where}.config", config), stage,
               r.text(body, "source", f"{where}.source", stages[stage].source), r.sets(body, f"{where}.set"))


def load_spec(path: str | Path) -> TableSpec:
    """Read and check a row-list file."""
    path = Path(path)
    r = _Reader(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the rows file ({exc.strerror})", where=path,
                          fix="pass an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", where=path,
                          fix="fix the YAML syntax at the line shown") from None
    data = r.mapping(data, "", FILE_KEYS)
    name = r.text(data, "name", "name", path.stem)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise r.fail("name", f"{name!r} is not letters, digits, _ or -", "it names the <!-- table:NAME --> markers")
    config = r.text(data, "config", "config")
    if config is None:
        raise r.fail("config", "missing", "write config: synthetic (the preset of every run that names none)")
    iterations = data.get("iterations")
    if iterations is not None and (not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1):
        raise r.fail("iterations", f"expected a positive integer, got {iterations!r}", "write iterations: 250")
    columns = data.get("columns") or []
    bad = [c for c in columns if c not in COLUMNS] if isinstance(columns, list) else [columns]
    if bad:
        raise r.fail("columns", f"unknown column {bad[0]!r}", f"use a list of {', '.join(COLUMNS)}")
    layout = r.text(data, "layout", "layout", "table")
    if layout not in LAYOUTS:
        raise r.fail("layout", f"unknown layout {layout!r}", f"use one of {', '.join(LAYOUTS)}")
    stages = _stages(r, data, config)
    raw_rows = data.get("rows")
    if not isinstance(raw_rows, list) or not raw_rows:
        raise r.fail("rows", "expected a non-empty list of rows", 'write rows: [{label: baseline, variant: baseline}]')
    rows = tuple(_row(r, body, i, config, stages) for i, body in enumerate(raw_rows))
    for i, row in enumerate(rows):
        if [x.slug for x in rows].index(row.slug) != i:
            raise r.fail(f"rows[{i}].label", f"{row.label!r} has the same folder name as another row ({row.slug})",
                         "give every row a label that differs in letters or digits")
    translate = None
    if "translate" in data:
        body = r.mapping(data["translate"], "translate", TRANSLATE_KEYS)
        if not body.get("source"):
            raise r.fail("translate.source", "missing", "write source: dukemtmcreid (the dataset to translate)")
        translate = Translate(r.text(body, "config", "translate.config", "translate-synthetic"),
                              r.text(body, "source", "translate.source"), r.text(body, "target", "translate.target"),
                              r.sets(body, "translate.set", {"data.root": RESERVED["data.root"]}))
    spec = TableSpec(path, name, r.text(data, "title", "title", name), config, iterations, r.sets(data, "set"),
                     _ints(r, data.get("seeds", [0, 1, 2]), "seeds"), tuple(columns), layout, stages, rows, translate)
    if translate is None and any(TRANSLATED in t for t in _texts(spec)):
        raise r.fail("translate", f"{TRANSLATED} is used but there is no translate: block",
                     "add translate: {config: translate-synthetic, source: dukemtmcreid, target: market1501}")
    return spec


def _texts(spec: TableSpec) -> list[str]:
    """Every source and override of the file's runs (where {translated} may appear)."""
    return [*spec.sets, *(s for st in spec.stages.values() for s in (st.source or "", *st.sets)),
            *(s for row in spec.rows for s in (row.source or "", *row.sets))]
