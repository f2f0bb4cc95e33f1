"""The layers contract (pyproject.toml) names every part of compliance, the one app split across two floors, and
only modules that exist: a new compliance module must be placed on a floor, and a renamed one cannot silently
leave the contract."""

import importlib.util
import pkgutil
import tomllib
from pathlib import Path

from django.conf import settings


def contracts() -> list[dict]:
    data = tomllib.loads(Path(settings.BASE_DIR, "pyproject.toml").read_text())
    return data["tool"]["importlinter"]["contracts"]


def layer_modules() -> list[str]:
    (layers,) = [contract for contract in contracts() if contract["type"] == "layers"]
    names = []
    for layer in layers["layers"]:
        for separator in ("|", ":"):
            layer = layer.replace(separator, ",")
        names += [name.strip() for name in layer.split(",")]
    return names


def test_every_module_of_compliance_is_on_a_floor():
    listed = set(layer_modules())
    package = importlib.import_module("compliance")
    parts = {f"compliance.{info.name}" for info in pkgutil.iter_modules(package.__path__)}
    assert parts - listed == set()


def test_every_module_the_contracts_name_exists():
    named = layer_modules()
    for contract in contracts():
        named += contract.get("source_modules", []) + contract.get("forbidden_modules", [])
    for name in named:
        assert not name.startswith("("), f"{name}: the contract names only modules that exist"
        assert importlib.util.find_spec(name) is not None, name
