"""Every zip function's handler imports with the core layer's packages alone.

The zip functions get the layer (``[project.dependencies]``; chalice without
its CLI's dependencies) and nothing else: no numpy, PaddleOCR or ONNX Runtime
(the OCR image has those), no test or local tools. Each handler module is
imported in a fresh interpreter that hides every installed distribution
outside that closure, with the environment Lambda gives it
(``ATENDE_ENV=aws``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# Handler modules of the zip functions in template.yaml (CodeUri, Handler).
HANDLERS = {
    "api": "app",
    "console_live": "handler",
    "conversation_sweeper": "handler",
    "conversation_worker": "handler",
    "document_tasks": "handler",
    "reports_refresh": "handler",
    "retention": "handler",
}

_CHILD = """
import importlib.abc, importlib.util, json, sys
blocked = set(json.loads(sys.argv[1]))
at_start = set(sys.modules)  # namespace packages that .pth files create
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the layer)")
        return None
sys.meta_path.insert(0, Hide())
for folder, module in json.loads(sys.argv[2]).items():
    sys.path.insert(0, folder)
    name, path = f"lambda_{len(sys.path)}", f"{folder}/{module}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
hidden = sorted(
    m for m in set(sys.modules) - at_start if m.partition(".")[0] in blocked
)
print(json.dumps(hidden))
"""


def _requirements(name: str) -> list[Requirement]:
    lines = (ROOT / "layers" / "core" / name).read_text().splitlines()
    return [
        Requirement(line.split("#", 1)[0])
        for line in lines
        if line.split("#", 1)[0].strip() and not line.startswith("-")
    ]


def _layer_closure() -> set[str]:
    """Distributions the layer installs (infra/lambda_deps.py build-layer):
    requirements.txt with its dependencies, requirements-nodeps.txt alone."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names: set[str] = {canonicalize_name(project["name"])}  # atende itself
    names |= {
        canonicalize_name(r.name) for r in _requirements("requirements-nodeps.txt")
    }
    pending = _requirements("requirements.txt")
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        req = pending.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(key[0])
        for text in metadata.distribution(req.name).requires or []:
            dep = Requirement(text)
            extras = [*req.extras, ""]
            if dep.marker is None or any(
                dep.marker.evaluate({"extra": extra}) for extra in extras
            ):
                pending.append(dep)
    return names


def _hidden_modules(closure: set[str]) -> set[str]:
    """Top-level modules that only distributions outside ``closure`` provide."""
    return {
        module
        for module, dists in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in closure for d in dists)
    }


def test_zip_handlers_import_with_the_layer_packages_only() -> None:
    closure = _layer_closure()
    hidden = _hidden_modules(closure)
    # Not vacuous: the OCR stack and the dev tools are installed here.
    assert {"numpy", "paddleocr", "onnxruntime", "moto", "pytest", "click"} <= hidden
    assert "pymupdf" in closure and "chalice" in closure

    handlers = {str(ROOT / "functions" / f): m for f, m in HANDLERS.items()}
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env |= {
        "ATENDE_ENV": "aws",
        "PYTHONPATH": str(ROOT / "layers" / "core"),
        "POWERTOOLS_SERVICE_NAME": "atende",
        "LOG_LEVEL": "INFO",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            json.dumps(sorted(hidden)),
            json.dumps(handlers),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) == []
