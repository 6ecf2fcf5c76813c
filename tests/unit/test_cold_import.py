"""What a cold start pays: importing a handler must not build the pydantic models' validators.

Building them costs tens of milliseconds per cold start; with `defer_build` each model is built on its
first use instead, so a request pays only for the models it touches. A module-level validation (say, a
constant built with `model_validate`) would silently bring the cost back; this catches it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from infra.template import ROOT, functions, load_template
from tests.conftest import TEST_ENV

# Runs in a fresh interpreter: imports the handler module, then lists the project's pydantic models
# whose validators were built during the import.
_PROBE = r"""
import importlib, json, sys
import pydantic
sys.path[:0] = [sys.argv[2], sys.argv[3]]
importlib.import_module(sys.argv[1])

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

own = [m for m in subclasses(pydantic.BaseModel) if m.__module__.startswith("loyalty.")]
print(json.dumps({"models": len(own),
                  "built": sorted(f"{m.__module__}.{m.__qualname__}" for m in own if m.__pydantic_complete__)}))
"""

HANDLERS = {logical_id: spec for logical_id, spec in functions(load_template()).items()}


@pytest.mark.parametrize("logical_id", sorted(HANDLERS))
def test_importing_a_handler_builds_no_model_validator(logical_id):
    spec = HANDLERS[logical_id]
    module = spec.handler.rpartition(".")[0]
    env = {**os.environ, **TEST_ENV}
    done = subprocess.run([sys.executable, "-c", _PROBE, module, str(ROOT / spec.code_uri), str(ROOT / "layers/core")],
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    assert reply["built"] == [], f"{logical_id} builds {reply['built']} at import"


def test_a_deferred_model_still_validates_on_first_use():
    done = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from loyalty.domain.program import Program, default_program\n"
        "assert not Program.__pydantic_complete__\n"
        "print(default_program().stamp_card.stamps_required, Program.__pydantic_complete__)\n"
        "try:\n"
        "    Program.model_validate({'stampCard': None, 'points': None})\n"
        "except ValueError as error:\n"
        "    print(error.errors()[0]['type'])\n"), str(ROOT / "layers/core")],
        capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["5", "True", "value_error"]
