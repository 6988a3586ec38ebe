"""User modules imported before a command runs (`raereid --import MODULE`, the config key `custom_imports`), so
that their `@register_learner(...)`, `@register_label_generator(...)` and other registry decorators take
effect without editing the package.

A plugin is a dotted module name, looked up on sys.path and then in the current folder, or the path of
a .py file, imported as a module named after the file. Each is imported once per process.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from raereid.errors import ConfigError

KEY = "custom_imports.imports"
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_FILES: dict[str, ModuleType] = {}  # resolved .py path -> its module
_SOURCES: list[Path] = []  # the source file of every plugin imported (a package's folder), for plugin_frame


def is_plugin(spec: object) -> bool:
    """Whether `spec` reads as a plugin: a dotted module name or a path ending in .py."""
    return isinstance(spec, str) and (_MODULE_NAME.fullmatch(spec) is not None or spec.endswith(".py"))


def canonical(spec: str) -> str:
    """How a plugin is recorded: a module name as given, a .py file as its absolute path (found from any folder)."""
    return str(Path(spec).expanduser().resolve()) if spec.endswith(".py") else spec


def import_plugins(specs: list[str], where: str) -> list[str]:
    """Import every plugin of `specs` (in order, each once) and return their canonical names, duplicates dropped.

    `where` says where the list came from (`--import ...`, a config file, a checkpoint) in the errors."""
    done: list[str] = []
    for spec in specs:
        if not is_plugin(spec):
            raise ConfigError(f"{KEY}: {spec!r} is neither a module name (my_plugins, pkg.module) nor a .py file",
                              where=where, fix="pass a dotted module name or the path of a .py file")
        name = canonical(spec)
        if name not in done:
            module = _import_file(name, where) if name.endswith(".py") else _import_module(name, where)
            _remember(module)
            done.append(name)
    return done


def _remember(module: ModuleType) -> None:
    source = getattr(module, "__file__", None)
    if source:
        path = Path(source).resolve()
        path = path.parent if path.name == "__init__.py" else path
        if path not in _SOURCES:
            _SOURCES.append(path)


def plugin_frame(exc: BaseException) -> tuple[str, int, str] | None:
    """Where in a plugin's code `exc` was raised, or passed through last: (file, line, function) of the innermost
    traceback frame in an imported plugin's file (or package); None when no plugin code is on the traceback."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if any(path == source or source in path.parents for source in _SOURCES):
            found = (frame.filename, frame.lineno or 0, frame.name)
    return found


def _import_module(name: str, where: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)  # as `python -m`: a module in the current folder is found
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise _failed(name, exc, where) from exc  # the plugin exists but imports a missing module
        raise ConfigError(f"cannot import plugin module {name!r} ({KEY}): no module named {exc.name!r} on the Python "
                          "path or in the current folder", where=where,
                          fix=f"run from the folder holding {name.split('.')[0]}(.py), add that folder to PYTHONPATH, "
                          "or pass the path of the .py file") from None
    except Exception as exc:  # any error inside the user's module is reported with its name
        raise _failed(name, exc, where) from exc


def _import_file(path: str, where: str) -> ModuleType:
    if path in _FILES:
        return _FILES[path]
    if not Path(path).is_file():
        raise ConfigError(f"plugin file not found ({KEY})", where=f"{path} (from {where})",
                          fix="pass the path of an existing .py file, or a module name")
    stem = Path(path).stem
    taken = stem in sys.modules or not stem.isidentifier()
    name = f"raereid_plugin_{len(_FILES)}_" + re.sub(r"\W", "_", stem) if taken else stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as a normal import: dataclasses, pickling and re-imports find it
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise _failed(path, exc, where) from exc
    _FILES[path] = module
    return module


def _failed(name: str, exc: Exception, where: str) -> ConfigError:
    return ConfigError(f"plugin module {name!r} ({KEY}) failed to import: {type(exc).__name__}: {exc}", where=where,
                       fix="fix the error in the module (raereid --debug ... shows the traceback), or drop it")
