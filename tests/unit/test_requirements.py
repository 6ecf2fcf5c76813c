"""The layer installs exactly pinned, hash-checked packages that satisfy pyproject.toml's ranges."""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from infra.requirements import (
    LAYER_MARKER_ENVIRONMENT,
    LAYER_REQUIREMENTS,
    normalise,
    read_pins,
    runtime_dependencies,
)

FIX = "run `make requirements` and commit layers/core/requirements.txt"


@pytest.fixture(scope="module")
def pins():
    return {pin.name: pin for pin in read_pins(LAYER_REQUIREMENTS)}


def _on_lambda(marker: Marker | str | None, extra: str = "") -> bool:
    if marker is None:
        return True
    marker = Marker(marker) if isinstance(marker, str) else marker
    return marker.evaluate({**LAYER_MARKER_ENVIRONMENT, "extra": extra})


def test_every_package_is_pinned_to_one_version_with_hashes(pins):
    assert pins, FIX
    for pin in pins.values():
        assert pin.hashes, f"{pin.name} has no --hash; {FIX}"
        assert all(h.startswith("sha256:") and len(h) == len("sha256:") + 64 for h in pin.hashes), pin.name


def test_every_runtime_dependency_is_pinned_within_its_range(pins):
    for line in runtime_dependencies():
        requirement = Requirement(line)
        if not _on_lambda(requirement.marker):
            continue
        pin = pins.get(normalise(requirement.name))
        assert pin is not None, f"{requirement.name} is not pinned; {FIX}"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{pin.name}=={pin.version} is outside {requirement.specifier}; {FIX}")


def test_the_pins_are_the_runtime_dependencies_and_everything_they_need(pins):
    # The environment the tests run in installs the layer's pins first (Makefile), so the metadata
    # read here is that of the pinned versions: their dependencies, with the extras asked for.
    needed: set[str] = set()
    pending = [Requirement(line) for line in runtime_dependencies()]
    while pending:
        requirement = pending.pop()
        name = normalise(requirement.name)
        if not _on_lambda(requirement.marker) or name in needed:
            continue
        needed.add(name)
        assert name in pins, f"{name} is needed but not pinned; {FIX}"
        installed = metadata.version(name)
        assert installed == pins[name].version, (
            f"{name} {installed} is installed but {pins[name].version} pinned: a dev dependency needs another "
            "version, or the environment predates the pins (`make clean test`)")
        extras = ("", *requirement.extras)
        for line in metadata.requires(name) or []:
            child = Requirement(line)
            if any(_on_lambda(child.marker, extra) for extra in extras):
                pending.append(Requirement(str(child).split(";")[0]))
    assert {name for name, pin in pins.items() if _on_lambda(pin.marker)} == needed, f"pins nothing needs; {FIX}"
