"""Loading a function's handler module by its path.

Every function keeps its entry point in ``functions/<name>/handler.py`` (Lambda
imports it as ``handler``); several can't share that module name in one
interpreter, so the local stack, the tests and the benchmarks load each one
under its folder's name through this function.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_handler(relative: str) -> ModuleType:
    """The module at ``relative`` (e.g. ``functions/retention/handler.py``),
    imported once per process under its folder's name."""
    path = ROOT / relative
    name = f"atende_function_{path.parent.name}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
