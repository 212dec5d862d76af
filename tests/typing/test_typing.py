"""mypy --strict accepts correct use of both flavors and reports the wrong uses.

ok_usage.py must type-check clean; every line of wrong_usage.py marked
``# expect: CODE`` must get exactly that error code, and no other line an error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OK = HERE / "ok_usage.py"
WRONG = HERE / "wrong_usage.py"
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")
EXPECT = re.compile(r"#\s*expect:\s*(?P<code>[a-z-]+)")


def expected_errors() -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(WRONG.read_text().splitlines(), 1):
        match = EXPECT.search(line)
        if match:
            found.add((number, match["code"]))
    return found


def test_mypy_accepts_correct_use_and_reports_wrong_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the config's paths (mypy_path, package bases) are from the root
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(OK), str(WRONG)]
    )
    assert not stderr, stderr
    errors: dict[str, set[tuple[int, str]]] = {}
    for line in stdout.splitlines():
        match = ERROR.match(line)
        if match:
            name = Path(match["file"]).name
            errors.setdefault(name, set()).add((int(match["line"]), match["code"]))
    assert errors.get(OK.name, set()) == set(), stdout
    expected = expected_errors()
    assert len(expected) >= 10  # the markers were read
    assert errors.get(WRONG.name, set()) == expected, stdout
    assert status == 1
