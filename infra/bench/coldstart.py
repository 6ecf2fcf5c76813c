"""Cold start as Lambda loads it: each handler imported from the deployed artefacts, next to boto3 alone.

The artefacts are made the way `make build` and `sam deploy` make them, without the `sam` CLI:
- the layer: `layers/core/requirements.txt` installed into the layer's `python/` folder (for this host's
  platform, so the wheels import here) plus the layer's own files; each function: its `CodeUri` copied;
- every `.py` compiled by the runtime's interpreter with `--invalidation-mode unchecked-hash`, as
  `make build` does;
- each artefact zipped as `sam deploy` zips it (every entry dated 1980-01-01), unzipped into a temporary
  folder (entries keep that date, as Lambda's unzip keeps it) and made read-only.

Each import runs in a fresh interpreter of the runtime's version (`python3.12`, resolved once to its real
path), isolated from this environment (`-I -S`) and writing no bytecode (`-B`: /var/task and /opt are
read-only on Lambda), with `sys.path` = [function folder, layer `python/` folder] in front of the standard
library, as /var/task and /opt/python are searched. The baseline is `import boto3; boto3.client("dynamodb")`
with boto3 (same version as the layer's) installed into a folder of its own and compiled like the
runtime's. Runs are paired (baseline, handler) in alternating order, after one unmeasured round, and each
handler's figure is the median of its per-pair ratios. Every import counts the modules the loader had to
compile from source (its bytecode was missing or stale), so the report shows that the shipped `.pyc`
files are used; a control run of each handler on a copy without `.pyc` files shows what they save.
The installed and compiled dependencies are cached under build/bench/ by requirements and interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.bench.stats import median, median_ratio
from infra.template import ROOT, function_properties, functions, layer_content_uris, load_template

RATIO_LIMIT = 1.3
CACHE = ROOT / "build" / "bench"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # what `sam deploy` stamps on every entry
COMPILE = ("-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash")  # as `make build`
NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")  # left out by SAM's builder
BASELINE = 'import boto3; boto3.client("dynamodb")'
REGION = "eu-central-1"

# Runs in the fresh interpreter: argv = [statement, module folder, ...]. Prints one JSON line.
_SNIPPET = r"""
import gc, sys, time
from importlib.machinery import SourceFileLoader
compiled_from_source = []
_source_to_code = SourceFileLoader.source_to_code
def _counting_source_to_code(self, data, path, *args, **kwargs):
    compiled_from_source.append(path)
    return _source_to_code(self, data, path, *args, **kwargs)
SourceFileLoader.source_to_code = _counting_source_to_code
gc_spent = [0.0, 0, 0.0]
def _gc_clock(phase, info):
    if phase == 'start':
        gc_spent[2] = time.perf_counter()
    else:
        gc_spent[0] += time.perf_counter() - gc_spent[2]
        gc_spent[1] += info['generation'] == 2
gc.callbacks.append(_gc_clock)
sys.path[:0] = sys.argv[2:]
code = compile(sys.argv[1], '<cold start>', 'exec')
started = time.perf_counter()
exec(code)
elapsed = time.perf_counter() - started
import json
loaded = sorted({m.__file__ for m in list(sys.modules.values()) if str(getattr(m, '__file__', '')).endswith('.py')})
print(json.dumps({'ms': elapsed * 1000, 'gc_ms': gc_spent[0] * 1000, 'full_collections': gc_spent[1],
                  'loaded': loaded, 'compiled_from_source': compiled_from_source}))
"""


class ColdStartError(RuntimeError):
    pass


@dataclass
class Target:
    """What one import run loads: a statement and the folders in front of sys.path."""

    name: str
    statement: str
    paths: list[Path]
    project: list[Path] = field(default_factory=list)  # folders whose modules are the project's own


@dataclass
class ImportRun:
    ms: float
    gc_ms: float
    full_collections: int
    project_modules: int
    project_recompiled: list[str]
    other_modules: int
    other_recompiled: int
    stderr: str = ""


def _run(command: list[str], what: str, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if "is ignored" not in line]
        raise ColdStartError(f"{what} failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    return done


def runtime_version(template: dict[str, Any]) -> str:
    """"3.12" for `Runtime: python3.12` (all functions share the runtime through Globals)."""
    runtimes = {str(function_properties(template, logical_id).get("Runtime", "")) for logical_id in functions(template)}
    if len(runtimes) != 1 or not (match := re.fullmatch(r"python(\d+\.\d+)", runtimes.pop())):
        raise ColdStartError(f"expected one python runtime in the template, found {sorted(runtimes)}")
    return match.group(1)


def find_interpreter(version: str) -> str:
    """The runtime's interpreter by its real path (a pyenv shim would add its own start-up to every run).
    `LAMBDA_PYTHON` (as in the Makefile) or `pythonX.Y` on PATH; failing that, pyenv's installed versions."""
    probe = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"
    candidates = [os.environ.get("LAMBDA_PYTHON") or f"python{version}"]
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += [str(path) for path in sorted(pyenv_root.glob(f"versions/{version}*/bin/python{version}"))]
    for candidate in candidates:
        try:
            done = subprocess.run([candidate, "-c", probe], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = done.stdout.split()
        if done.returncode == 0 and len(lines) == 2 and lines[1] == version:
            return lines[0]
    raise ColdStartError(f"no python{version} interpreter found (set LAMBDA_PYTHON to one)")


# --- building the artefacts -------------------------------------------------------------------------

def compile_tree(python: str, folder: Path) -> None:
    _run([python, *COMPILE, str(folder)], f"compiling {folder.name}")


def pip_install(python: str, target: Path, requirements: list[str]) -> None:
    # --no-compile: SAM's builder ships no bytecode; compile_tree compiles it the way `make build` does.
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
          "--target", str(target), *requirements], f"pip install into {target.name}")


def add_tree(archive: zipfile.ZipFile, folder: Path, prefix: str = "") -> None:
    """Every file under `folder`, dated as `sam deploy` dates zip entries."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = zipfile.ZipInfo(prefix + path.relative_to(folder).as_posix(), date_time=ZIP_DATE)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=1)


def unzip(archive_path: Path, target: Path) -> None:
    """Extract keeping each entry's date, as Lambda's unzip does (zipfile alone would date them now)."""
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            path = archive.extract(info, target)
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(path, (stamp, stamp))


def set_read_only(folder: Path, read_only: bool = True) -> None:
    for root, dirs, files in os.walk(folder):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444 if read_only else 0o644)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o555 if read_only else 0o755)
    os.chmod(folder, 0o555 if read_only else 0o755)


def _cached(name: str, key_parts: list[bytes | str], make: Callable[[Path], None]) -> Path:
    """A folder under build/bench/ made once per key (made into a temporary name, then renamed)."""
    digest = hashlib.sha256(b"\0".join(p if isinstance(p, bytes) else p.encode() for p in key_parts)).hexdigest()
    folder = CACHE / f"{name}-{digest[:16]}"
    if not folder.is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=CACHE))
        try:
            make(staging)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def layer_dependencies_zip(python: str, requirements: Path, log: Callable[[str], None]) -> Path:
    """The layer's dependencies installed into python/, compiled and zipped (cached: pip is slow here)."""
    def make(folder: Path) -> None:
        log(f"  installing {requirements.relative_to(ROOT)} for the runtime (cached for later runs)")
        pip_install(python, folder / "tree" / "python", ["-r", str(requirements)])
        compile_tree(python, folder / "tree")
        with zipfile.ZipFile(folder / "dependencies.zip", "w") as archive:
            add_tree(archive, folder / "tree")
        shutil.rmtree(folder / "tree")

    key = [requirements.read_bytes(), python, *COMPILE]
    return _cached("layer-dependencies", key, make) / "dependencies.zip"


def runtime_boto3(python: str, version: str, log: Callable[[str], None]) -> Path:
    """boto3 in a folder of its own, compiled, as the runtime ships it (cached)."""
    def make(folder: Path) -> None:
        log(f"  installing boto3=={version} for the baseline (cached for later runs)")
        pip_install(python, folder, [f"boto3=={version}"])
        compile_tree(python, folder)

    return _cached("runtime-boto3", [version, python, *COMPILE], make)


def installed_version(archive_path: Path, distribution: str) -> str:
    with zipfile.ZipFile(archive_path) as archive:
        for name in archive.namelist():
            match = re.match(rf"python/{distribution}-([^/]+)\.dist-info/", name)
            if match:
                return match.group(1)
    raise ColdStartError(f"{distribution} is not among the layer's dependencies")


@dataclass
class Artefacts:
    """The unzipped, read-only deployment: one folder per function (/var/task) and the layer (/opt)."""

    root: Path
    functions: dict[str, tuple[Path, str]]  # logical id -> (folder, handler module)
    layer_python: Path
    boto3_folder: Path


def build_artefacts(python: str, template: dict[str, Any], workdir: Path, log: Callable[[str], None]) -> Artefacts:
    content_uris = layer_content_uris(template)
    if len(content_uris) != 1:
        raise ColdStartError(f"expected one layer in the template, found {len(content_uris)}")
    layer_source = (ROOT / content_uris[0]).resolve()
    dependencies = layer_dependencies_zip(python, layer_source / "requirements.txt", log)
    boto3_folder = runtime_boto3(python, installed_version(dependencies, "boto3"), log)

    log("  building, compiling and zipping the layer and each function as `make build` and `sam deploy` do")
    staging, zips, deployed = workdir / "build", workdir / "zips", workdir / "deployed"
    zips.mkdir()
    shutil.copytree(layer_source, staging / "layer" / "python", ignore=NOT_SHIPPED)
    specs = functions(template)
    for logical_id, spec in specs.items():
        code_dir = (ROOT / spec.code_uri).resolve()
        shutil.copytree(code_dir, staging / logical_id, ignore=NOT_SHIPPED)
        if (code_dir / "requirements.txt").is_file():
            pip_install(python, staging / logical_id, ["-r", str(code_dir / "requirements.txt")])
    compile_tree(python, staging)

    shutil.copyfile(dependencies, zips / "layer.zip")
    with zipfile.ZipFile(zips / "layer.zip", "a") as archive:
        add_tree(archive, staging / "layer")
    unzip(zips / "layer.zip", deployed / "opt")
    result: dict[str, tuple[Path, str]] = {}
    for logical_id, spec in specs.items():
        with zipfile.ZipFile(zips / f"{logical_id}.zip", "w") as archive:
            add_tree(archive, staging / logical_id)
        unzip(zips / f"{logical_id}.zip", deployed / "task" / logical_id)
        result[logical_id] = (deployed / "task" / logical_id, spec.handler.rpartition(".")[0])
    set_read_only(deployed)
    return Artefacts(deployed, result, deployed / "opt" / "python", boto3_folder)


# --- importing ----------------------------------------------------------------------------------------

def import_env() -> dict[str, str]:
    """What the handlers read at import: the settings' variables, no AWS configuration from this machine."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update({
        "TABLE_NAME": "bywalec-bench", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "LOYALTY_SIGNING_KEY": "bench-signing-key", "LOYALTY_ADMIN_TOKEN": "bench-admin-token",
        "PUBLIC_BASE_URL": "http://bench.invalid", "POWERTOOLS_SERVICE_NAME": "bywalec",
        "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
    })
    return env


def run_import(python: str, target: Target, importtime: bool = False) -> ImportRun:
    command = [python, "-I", "-S", "-B", *(["-X", "importtime"] if importtime else []), "-c", _SNIPPET,
               target.statement, *map(str, target.paths)]
    done = subprocess.run(command, env=import_env(), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ColdStartError(f"{target.name}: {lines[-1] if lines else f'exit {done.returncode}'}")
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    own = [str(folder) + os.sep for folder in target.project]
    inside = [str(folder) + os.sep for folder in target.paths]

    def is_project(path: str) -> bool:
        return any(path.startswith(prefix) for prefix in own)

    def shown(path: str) -> str:  # relative to the folder on sys.path that holds it
        return next((path[len(prefix):] for prefix in inside if path.startswith(prefix)), path)

    loaded = [path for path in reply["loaded"] if any(path.startswith(prefix) for prefix in inside)]
    recompiled = set(reply["compiled_from_source"])
    return ImportRun(
        ms=reply["ms"], gc_ms=reply["gc_ms"], full_collections=reply["full_collections"],
        project_modules=sum(is_project(path) for path in loaded),
        project_recompiled=sorted(shown(path) for path in recompiled if is_project(path)),
        other_modules=sum(not is_project(path) for path in loaded),
        other_recompiled=sum(not is_project(path) for path in recompiled if path in loaded),
        stderr=done.stderr)


def _import_rows(stderr: str) -> list[tuple[str, int]]:
    """(module, self microseconds) from `python -X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
        if match:
            rows.append((match.group(2), int(match.group(1))))
    return rows


def _package(module: str) -> str:
    """Top-level package, but the project's own by sub-package (loyalty.api, loyalty.store, ...)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "loyalty" else parts[0]


def import_profile(python: str, target: Target, runs: int = 3) -> tuple[dict[str, float], dict[str, float]]:
    """Median over `runs` of the own-code import time (ms, under -X importtime) per package and per module."""
    packages: list[Counter[str]] = []
    modules: list[Counter[str]] = []
    for _ in range(runs):
        by_package: Counter[str] = Counter()
        by_module: Counter[str] = Counter()
        for module, self_us in _import_rows(run_import(python, target, importtime=True).stderr):
            by_package[_package(module)] += self_us / 1000
            by_module[module] += self_us / 1000
        packages.append(by_package)
        modules.append(by_module)

    def medians(samples: list[Counter[str]]) -> dict[str, float]:
        names = set().union(*samples)
        return {name: statistics.median(sample.get(name, 0.0) for sample in samples) for name in names}

    return medians(packages), medians(modules)


def heaviest(times: dict[str, float], baseline: dict[str, float], top: int = 8) -> list[dict[str, Any]]:
    """What costs most beyond the baseline's import of the same names."""
    excess = {name: ms - baseline.get(name, 0.0) for name, ms in times.items()}
    ranked = sorted(excess.items(), key=lambda pair: pair[1], reverse=True)[:top]
    return [{"name": name, "ms": round(ms, 1)} for name, ms in ranked if ms >= 0.5]


def measure_cold_starts(runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    template = load_template()
    try:
        version = runtime_version(template)
        python = find_interpreter(version)
    except ColdStartError as exc:
        return {"error": str(exc), "runs": runs}
    with tempfile.TemporaryDirectory(prefix="bywalec-coldstart-") as workdir:
        deployed = Path(workdir) / "deployed"
        try:
            artefacts = build_artefacts(python, template, Path(workdir), log)
            return _measure(python, version, artefacts, runs, log)
        except ColdStartError as exc:
            return {"error": str(exc), "runs": runs}
        finally:
            if deployed.exists():
                set_read_only(deployed, False)


def _measure(python: str, version: str, artefacts: Artefacts, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    baseline = Target("boto3", BASELINE, [artefacts.boto3_folder])
    targets = {
        logical_id: Target(logical_id, f"import {module}", [folder, artefacts.layer_python],
                           [folder, artefacts.layer_python / "loyalty"])
        for logical_id, (folder, module) in sorted(artefacts.functions.items())
    }
    pairs: dict[str, list[tuple[ImportRun, ImportRun]]] = {name: [] for name in targets}
    for round_number in range(runs + 1):
        for position, (name, target) in enumerate(targets.items()):
            if (round_number + position) % 2:
                handler_run, baseline_run = run_import(python, target), run_import(python, baseline)
            else:
                baseline_run, handler_run = run_import(python, baseline), run_import(python, target)
            if round_number:  # round 0 only warms the file cache
                pairs[name].append((handler_run, baseline_run))
        log(f"  import round {round_number}/{runs} done" + ("" if round_number else " (warm-up, not counted)"))

    log("  where the time goes (-X importtime) and a control run without .pyc files")
    baseline_packages, baseline_modules = import_profile(python, baseline)
    baseline_runs = [b for runs_of in pairs.values() for _, b in runs_of]
    result: dict[str, Any] = {
        "runs": runs, "python": f"{version} ({python})", "baseline": BASELINE,
        "baseline_ms": median([r.ms for r in baseline_runs]),
        "baseline_gc_ms": median([r.gc_ms for r in baseline_runs]),
        "baseline_recompiled": max(r.other_recompiled for r in baseline_runs),
        "baseline_modules": baseline_runs[0].other_modules,
        "baseline_heaviest_packages": heaviest(baseline_packages, {}),
        "ratio_limit": RATIO_LIMIT, "handlers": {},
    }
    without_pyc = _copy_without_bytecode(artefacts)
    try:
        for name, target in targets.items():
            runs_of = pairs[name]
            handler_runs = [h for h, _ in runs_of]
            packages, modules = import_profile(python, target)
            control_target = Target(name, target.statement, [without_pyc / p.relative_to(artefacts.root)
                                                             for p in target.paths],
                                    [without_pyc / p.relative_to(artefacts.root) for p in target.project])
            control = run_import(python, control_target)
            result["handlers"][name] = {
                "module": f"{target.statement.split()[-1]} in {name}",
                "median_ms": median([r.ms for r in handler_runs]),
                "runs_ms": [round(r.ms, 1) for r in handler_runs],
                "baseline_runs_ms": [round(b.ms, 1) for _, b in runs_of],
                "ratio": median_ratio([(h.ms, b.ms) for h, b in runs_of]),
                "gc_median_ms": median([r.gc_ms for r in handler_runs]),
                "gc_full_collections": median([r.full_collections for r in handler_runs]),
                "project_modules": handler_runs[0].project_modules,
                "project_recompiled": sorted({m for r in handler_runs for m in r.project_recompiled}),
                "dependency_modules": handler_runs[0].other_modules,
                "dependency_recompiled": max(r.other_recompiled for r in handler_runs),
                "without_pyc_ms": round(control.ms, 1),
                "without_pyc_project_recompiled": len(control.project_recompiled),
                "without_pyc_dependency_recompiled": control.other_recompiled,
                "heaviest_packages": heaviest(packages, baseline_packages),
                "heaviest_modules": heaviest(modules, baseline_modules),
            }
    finally:
        shutil.rmtree(without_pyc, ignore_errors=True)
    return result


def _copy_without_bytecode(artefacts: Artefacts) -> Path:
    copy = artefacts.root.parent / "without-pyc"
    shutil.copytree(artefacts.root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    set_read_only(copy, False)
    return copy
