"""Pins the Lambda layer's requirements.txt from pyproject.toml's runtime dependencies, with hashes.

`sam build` installs layers/core/requirements.txt into the layer. uv resolves pyproject's
[project] dependencies for the layer's Python on every platform, pins each package (transitive
ones included) and lists the sha256 of every file of that version, so pip installs nothing else.
Pins already in the file are kept; a new or changed range in pyproject.toml re-resolves what it needs.

Usage: python -m infra.requirements layers/core/requirements.txt
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from infra.template import ROOT

LAYER_PYTHON = "3.12"
LAYER_REQUIREMENTS = ROOT / "layers" / "core" / "requirements.txt"
# What the layer's Python on Lambda (arm64, Amazon Linux) answers to requirement markers.
LAYER_MARKER_ENVIRONMENT = {
    "python_version": LAYER_PYTHON,
    "python_full_version": f"{LAYER_PYTHON}.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
}


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]


def compile_command(target: Path) -> list[str]:
    """uv's command, run in the project folder; relative paths keep machine paths out of the file's comments."""
    from uv import find_uv_bin

    return [
        find_uv_bin(), "pip", "compile", "pyproject.toml",
        "--generate-hashes", "--universal", "--python-version", LAYER_PYTHON,
        "--custom-compile-command", "make requirements", "--output-file", str(target), "--quiet",
    ]


@dataclass(frozen=True)
class Pin:
    name: str  # normalised (PEP 503)
    version: str
    marker: str | None
    hashes: tuple[str, ...]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path = LAYER_REQUIREMENTS) -> list[Pin]:
    """The requirements of a hashed requirements file, one per package (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = re.split(r"\s+(?=--)", line)
        spec, _, marker = requirement.partition(";")
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s=]+)", spec.strip())
        if match is None:
            raise ValueError(f"not pinned to one version: {requirement!r}")
        hashes = tuple(option.removeprefix("--hash=") for option in options if option.startswith("--hash="))
        pins.append(Pin(normalise(match[1]), match[2], marker.strip() or None, hashes))
    return pins


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else LAYER_REQUIREMENTS
    subprocess.run(compile_command(Path(os.path.relpath(target.resolve(), ROOT))), cwd=ROOT, check=True)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
