"""One lock for development, tests and the Lambda packages.

``requirements.lock`` pins every package the project installs: ``make``'s
virtualenv (every extra) installs it, and the zip packages ``sam build``
builds (the core layer, the API function) read it as constraints
(``-c ../../requirements.lock`` in their ``requirements.txt``), so the
versions the tests run are the versions deployed. The container images
(OCR, action server) install with the same constraints.

Lambda's ``python3.11`` runtime is Amazon Linux 2 (glibc 2.26): a wheel built
for a newer glibc (``manylinux_2_28``; PyMuPDF after 1.26.0) does not load
there, and ``sam build`` refuses it. ``lock`` therefore resolves in two
passes: the runtime dependencies (``[project.dependencies]``) for the Lambda
platform of the template's runtime, binary wheels only; then every extra,
with each of those packages capped at the version found for Lambda (a cap,
not a pin: an extra may need an older release, as paddlex does PyYAML
6.0.2), for the platforms of development and the images (``manylinux_2_28``:
Debian 12, Amazon Linux 2023). ``check`` then proves the result.

``check`` (``make lint``) proves without downloading a wheel that:

* the lock satisfies every requirement of ``pyproject.toml``;
* the zip packages' requirements are ``[project.dependencies]``, read
  against the lock;
* pip, asked for the Lambda platform (binary wheels only, the glibc of the
  template's runtime), resolves them to exactly the lock's versions.

``build-layer`` builds the core layer as ``sam build`` runs it (template:
``BuildMethod: makefile``, the Makefile's ``build-CoreLayer``): pip installs
the lock's versions for the Lambda platform (the same choice ``check``
proves), atende is copied beside them, and everything is compiled to
bytecode. Lambda's file system is read-only, so without ``.pyc`` files every
cold start compiles each imported module again (bench/RESULTS.md, cold
starts).

Usage: ``python infra/lambda_deps.py lock --uv .venv-uv/bin/uv``,
``python infra/lambda_deps.py check`` or
``python infra/lambda_deps.py build-layer <artifacts dir>``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
TEMPLATE = ROOT / "template.yaml"
PYPROJECT = ROOT / "pyproject.toml"
LAYER = ROOT / "layers" / "core"

# Lambda's managed Python runtimes and the glibc of their OS
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html; AL2 ships
# glibc 2.26, AL2023 glibc 2.34).
RUNTIME_OS = {
    "python3.10": ("Amazon Linux 2", (2, 26)),
    "python3.11": ("Amazon Linux 2", (2, 26)),
    "python3.12": ("Amazon Linux 2023", (2, 34)),
    "python3.13": ("Amazon Linux 2023", (2, 34)),
    "python3.14": ("Amazon Linux 2023", (2, 34)),
}
# manylinux versions uv can target (its --python-platform values).
_UV_MANYLINUX = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
# Where the rest of the lock is installed: development (Debian 12, glibc
# 2.36), the OCR image (Amazon Linux 2023, 2.34), the action server's image.
DEV_UV_PLATFORM = "x86_64-manylinux_2_28"


@dataclass(frozen=True)
class LambdaPlatform:
    """The runtime that every zip function and the layer declare."""

    runtime: str
    arch: str  # x86_64 or aarch64

    @property
    def os_name(self) -> str:
        return RUNTIME_OS[self.runtime][0]

    @property
    def glibc(self) -> tuple[int, int]:
        return RUNTIME_OS[self.runtime][1]

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    def pip_platforms(self) -> list[str]:
        """Every manylinux tag whose wheels load on the runtime's glibc."""
        major, minor = self.glibc
        legacy = (
            ["manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"]
            if self.arch == "x86_64"
            else ["manylinux2014_aarch64"]
        )
        first = 5 if self.arch == "x86_64" else 17
        perennial = [
            f"manylinux_{major}_{m}_{self.arch}" for m in range(first, minor + 1)
        ]
        return legacy + perennial

    def uv_platform(self) -> str:
        """uv's nearest target at or below the runtime's glibc."""
        minor = max(m for m in _UV_MANYLINUX if m <= self.glibc[1])
        return f"{self.arch}-manylinux_2_{minor}"

    def describe(self) -> str:
        major, minor = self.glibc
        return f"{self.runtime} ({self.os_name}, glibc {major}.{minor}, {self.arch})"


def lambda_platform(template: str) -> LambdaPlatform:
    """The Python runtime and architecture of the template's zip packages.

    The layer serves every zip function, so all of them must declare one
    runtime (``Runtime``, ``CompatibleRuntimes``, ``BuildMethod``).
    """
    runtimes = set(
        re.findall(r"^\s*(?:Runtime|BuildMethod):\s*(python3\.\d+)\s*$", template, re.M)
    )
    for group in re.findall(r"CompatibleRuntimes:\s*\[([^\]]*)\]", template):
        runtimes |= {item.strip() for item in group.split(",") if item.strip()}
    arches: set[str] = set()
    for group in re.findall(r"(?:Compatible)?Architectures:\s*\[([^\]]*)\]", template):
        arches |= {item.strip() for item in group.split(",") if item.strip()}
    if len(runtimes) != 1:
        raise SystemExit(
            "template.yaml: the zip packages must share one Python runtime,"
            f" found {sorted(runtimes) or 'none'}"
        )
    if len(arches) > 1:
        raise SystemExit(
            f"template.yaml: one architecture expected, found {sorted(arches)}"
        )
    runtime = runtimes.pop()
    if runtime not in RUNTIME_OS:
        raise SystemExit(
            f"template.yaml: unknown runtime {runtime}; add it to RUNTIME_OS"
        )
    arch = "aarch64" if arches == {"arm64"} else "x86_64"
    return LambdaPlatform(runtime=runtime, arch=arch)


def platform_pip_args(platform: LambdaPlatform) -> list[str]:
    """pip's options that choose wheels for the Lambda runtime (binary only)."""
    args = [
        "--only-binary=:all:", "--implementation", "cp",
        "--python-version", platform.python_version, "--abi", platform.abi,
    ]  # fmt: skip
    for tag in platform.pip_platforms():
        args += ["--platform", tag]
    return args


NO_DEPS_SUFFIX = "-nodeps.txt"


def zip_requirement_files(template: str) -> list[Path]:
    """The requirement files of every zip function and layer.

    ``requirements.txt`` is installed with its dependencies;
    ``requirements-nodeps.txt`` without them: packages whose runtime needs only
    the standard library, their dependencies serving a command line (chalice:
    ``chalice.app`` is the runtime; click, inquirer, pip... are its CLI's).
    """
    dirs = dict.fromkeys(
        re.findall(r"^\s*(?:CodeUri|ContentUri):\s*(\S+)\s*$", template, re.M)
    )
    return [
        ROOT / d / name
        for d in dirs
        for name in ("requirements.txt", "requirements" + NO_DEPS_SUFFIX)
        if (ROOT / d / name).exists()
    ]


def _no_deps(path: Path) -> bool:
    return path.name.endswith(NO_DEPS_SUFFIX)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """``{canonical name: version}`` of the lock's ``name==version`` lines."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match is None:
            raise SystemExit(
                f"{path.name}:{number}: not a pin (name==version): {raw!r}"
            )
        pins[canonical(match[1])] = match[2]
    return pins


# ------------------------------------------------------------------- lock


def lock(uv: str) -> None:
    """Resolve requirements.lock again (after a change to pyproject.toml)."""
    platform = lambda_platform(TEMPLATE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        runtime_pins, caps = Path(tmp) / "lambda.txt", Path(tmp) / "caps.txt"
        print(f"resolving [project.dependencies] for {platform.describe()}")
        runtime = [
            uv, "pip", "compile", str(PYPROJECT), "--quiet", "--no-header",
            "--python-version", platform.python_version,
            "--python-platform", platform.uv_platform(),
            "--only-binary", ":all:", "-o", str(runtime_pins),
        ]  # fmt: skip
        subprocess.run(runtime, check=True)  # noqa: S603 - the uv of `make lock`
        caps.write_text(
            "".join(f"{n}<={v}\n" for n, v in read_lock(runtime_pins).items())
        )
        print(f"resolving every extra under those caps ({DEV_UV_PLATFORM})")
        everything = [
            uv, "pip", "compile", str(PYPROJECT), "--quiet", "--all-extras",
            "--python-version", platform.python_version,
            "--python-platform", DEV_UV_PLATFORM,
            "--constraint", str(caps),
            "--custom-compile-command", "make lock", "-o", str(LOCK),
        ]  # fmt: skip
        subprocess.run(everything, check=True, cwd=ROOT)  # noqa: S603
        # The annotations name the caps file; name what it is instead.
        LOCK.write_text(
            LOCK.read_text().replace(
                f"-c {caps}", f"Lambda cap ({platform.runtime}, make lock)"
            )
        )
    print(f"{LOCK.name}: {len(read_lock())} packages")


# ------------------------------------------------------------------ check


def _requirements(lines: list[str]) -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in lines
        if line.split("#", 1)[0].strip() and not line.lstrip().startswith("-")
    ]


def check_consistency(pins: dict[str, str], zip_files: list[Path]) -> list[str]:
    """The lock against pyproject.toml, the zip packages against both."""
    from packaging.requirements import Requirement

    problems: list[str] = []
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    extras = [
        Requirement(r)
        for group in project["optional-dependencies"].values()
        for r in group
    ]
    env = {
        "python_version": "3.11",
        "sys_platform": "linux",
        "platform_system": "Linux",
    }
    for req in runtime + extras:
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        version = pins.get(canonical(req.name))
        if version is None:
            problems.append(
                f"{LOCK.name} lacks {req.name} (pyproject.toml: {req}); run `make lock`"
            )
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(
                f"{LOCK.name} pins {req.name}=={version}, outside pyproject.toml's"
                f" {req}; run `make lock`"
            )

    wanted = {canonical(r.name): r for r in runtime}
    shipped: dict[str, Requirement] = {}
    for path in zip_files:
        rel = path.relative_to(ROOT)
        lines = path.read_text().splitlines()
        constraints = [
            (path.parent / line.split(None, 1)[1]).resolve()
            for line in lines
            if line.startswith(("-c ", "--constraint "))
        ]
        if LOCK.resolve() not in constraints:
            problems.append(
                f"{rel} does not read the lock (-c {Path('../..') / LOCK.name})"
            )
        for text in _requirements(lines):
            req = Requirement(text)
            shipped[canonical(req.name)] = req
            if canonical(req.name) not in wanted:
                problems.append(
                    f"{rel}: {req.name} is not in pyproject.toml's"
                    " [project.dependencies]"
                )
            elif str(wanted[canonical(req.name)]) != str(req):
                problems.append(
                    f"{rel}: {req} differs from pyproject.toml's"
                    f" {wanted[canonical(req.name)]}"
                )
    for name, req in wanted.items():
        if name not in shipped:
            problems.append(
                f"{req} (pyproject.toml) is in no zip package's requirements.txt"
            )
    return problems


@dataclass(frozen=True)
class Resolved:
    name: str
    version: str
    wheel: str


def resolve_for_lambda(
    platform: LambdaPlatform, zip_files: list[Path]
) -> tuple[list[Resolved], str]:
    """pip's resolution of the zip packages for the Lambda platform.

    ``pip install --dry-run --report``: the same choice as ``pip download
    --platform ... --only-binary=:all:`` (and ``sam build``), reading only
    the wheels' metadata. Returns what would be installed, or pip's reasons.
    """
    resolved: list[Resolved] = []
    for no_deps in (False, True):
        files = [path for path in zip_files if _no_deps(path) == no_deps]
        if not files:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            argv = [
                sys.executable, "-m", "pip", "install", "--dry-run",
                "--disable-pip-version-check", "--ignore-installed",
                "--target", str(Path(tmp) / "target"), "--report", str(report),
                *platform_pip_args(platform), *(["--no-deps"] if no_deps else []),
            ]  # fmt: skip
            for path in files:
                argv += ["-r", str(path)]
            out = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
            if out.returncode != 0:
                return [], _pip_reasons(out.stdout + out.stderr)
            items = json.loads(report.read_text())["install"]
        resolved += [
            Resolved(
                name=item["metadata"]["name"],
                version=item["metadata"]["version"],
                wheel=item["download_info"]["url"].rsplit("/", 1)[-1],
            )
            for item in items
        ]
    return resolved, ""


def _pip_reasons(output: str) -> str:
    """The part of pip's failure that says why (conflicts, missing wheels)."""
    lines = [
        line for line in output.splitlines() if "is ignored: it is neither" not in line
    ]
    for marker in ("The conflict is caused by", "ERROR:"):
        starts = [i for i, line in enumerate(lines) if line.startswith(marker)]
        if starts:
            kept = [line for line in lines[starts[0] :] if line.strip()]
            return "\n".join(
                line
                for line in kept
                if not line[:1].isdigit() and not line.startswith("To fix this")
            )
    return "\n".join(lines[-10:])


def _unavailable(reasons: str) -> list[str]:
    """Packages pip found no wheel of for the platform."""
    names: list[str] = []
    lines = reasons.splitlines()
    for i, line in enumerate(lines):
        if "no matching distributions available for your environment" in line:
            names += [n.strip() for n in lines[i + 1 :] if n.startswith("    ")]
        match = re.search(r"No matching distribution found for (\S+)", line)
        if match:
            names.append(re.split(r"[=<>!~]", match[1])[0])
    return names


def check() -> int:
    template = TEMPLATE.read_text()
    platform = lambda_platform(template)
    zip_files = zip_requirement_files(template)
    pins = read_lock()
    problems = check_consistency(pins, zip_files)

    resolved, reasons = resolve_for_lambda(platform, zip_files)
    if reasons:
        for name in _unavailable(reasons):
            version = pins.get(canonical(name), "?")
            problems.append(
                f"{name}=={version} (the lock's) has no wheel that loads on "
                f"{platform.describe()}: none for glibc <= "
                f"{platform.glibc[0]}.{platform.glibc[1]}; run `make lock`"
            )
        problems.append(
            f"pip, for {platform.describe()} (--only-binary=:all:"
            f" --platform {platform.pip_platforms()[-1]} ...):\n      "
            + reasons.replace("\n", "\n      ")
        )
    for item in resolved:
        locked = pins.get(canonical(item.name))
        if locked is None:
            problems.append(
                f"{item.name} {item.version} is shipped but not in {LOCK.name};"
                " run `make lock`"
            )
        elif locked != item.version:
            problems.append(
                f"{item.name}: the lock has {locked}, Lambda would get {item.version}"
            )

    files = ", ".join(str(p.relative_to(ROOT)) for p in zip_files)
    if problems:
        print(
            f"Lambda packages ({files}) for {platform.describe()}: FAILED",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    binary = sorted(
        f"{r.name} {r.version}" for r in resolved if not r.wheel.endswith("-any.whl")
    )
    print(
        f"Lambda packages ({files}): {len(resolved)} packages resolve for "
        f"{platform.describe()}, binary wheels only, to the lock's versions; "
        f"compiled: {', '.join(binary)}"
    )
    return 0


# ------------------------------------------------------------ build-layer


def build_layer(artifacts_dir: Path) -> None:
    """The core layer in ``artifacts_dir/python``, with compiled bytecode."""
    platform = lambda_platform(TEMPLATE.read_text())
    if f"{sys.version_info[0]}.{sys.version_info[1]}" != platform.python_version:
        raise SystemExit(
            f"build the layer with Python {platform.python_version} (its bytecode"
            f" must match {platform.runtime}), not {sys.version.split()[0]}"
        )
    target = artifacts_dir / "python"
    for path in (LAYER / "requirements.txt", LAYER / f"requirements{NO_DEPS_SUFFIX}"):
        argv = [
            sys.executable, "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", "--no-compile", "--target", str(target),
            *platform_pip_args(platform), *(["--no-deps"] if _no_deps(path) else []),
            "-r", str(path),
        ]  # fmt: skip
        subprocess.run(argv, check=True)  # noqa: S603 - our own interpreter's pip
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts
    shutil.copytree(
        LAYER / "atende",
        target / "atende",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    # Unchecked hashes: valid whatever the timestamps the zip keeps.
    compileall.compile_dir(
        target,
        quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    print(f"core layer for {platform.describe()} in {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lock_cmd = sub.add_parser("lock", help="resolve requirements.lock again")
    lock_cmd.add_argument("--uv", default="uv", help="the uv executable")
    sub.add_parser(
        "check", help="the lock and the zip packages, for the Lambda platform"
    )
    build = sub.add_parser("build-layer", help="the core layer (sam build)")
    build.add_argument("artifacts_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "lock":
        lock(args.uv)
        return 0
    if args.command == "build-layer":
        build_layer(args.artifacts_dir)
        return 0
    return check()


if __name__ == "__main__":
    sys.exit(main())
