"""docs/bundle.md states the same defaults and the same error codes as the code."""

import re
from dataclasses import fields
from pathlib import Path

from axon.bundle import BundleLimits
from tests.unit.bundle.cases import CASES

DOC = (Path(__file__).resolve().parents[3] / "docs" / "bundle.md").read_text()
UNITS = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def table_rows(heading: str) -> dict[str, str]:
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|", section, flags=re.M))


def value(text: str) -> float:
    number, _, unit = text.strip("`").replace("_", "").partition(" * ")
    return float(number) * UNITS.get(unit, 1)


def test_documented_limits_are_the_defaults() -> None:
    documented = {name: value(default) for name, default in table_rows("Limits").items()}
    assert documented == {field.name: getattr(BundleLimits(), field.name) for field in fields(BundleLimits)}


def test_every_error_code_is_documented() -> None:
    assert set(table_rows("Error codes")) == {case.code for case in CASES.values()}
