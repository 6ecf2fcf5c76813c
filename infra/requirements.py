"""Writes the Lambda layer's requirements.txt from pyproject.toml's runtime dependencies (one list, two uses).

Usage: python -m infra.requirements layers/core/requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from infra.template import ROOT

HEADER = "# Generated from pyproject.toml by `make requirements`; edit the dependencies there.\n"


def layer_requirements(pyproject: Path = ROOT / "pyproject.toml") -> str:
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return HEADER + "".join(f"{dependency}\n" for dependency in sorted(dependencies, key=str.lower))


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "layers" / "core" / "requirements.txt"
    target.write_text(layer_requirements(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
