"""The committed generated trees match scripts/unasync.py, and its check can fail."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Protocol, cast

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ("redisaq/_async", "redisaq/_sync", "tests/_async", "tests/_sync")
SCRIPT = "scripts/unasync.py"


class Script(Protocol):
    def check(self, root: Path) -> int: ...

    def generate(self, root: Path) -> int: ...


def load_script(root: Path) -> Script:
    spec = importlib.util.spec_from_file_location(f"_unasync_{id(root)}", root / SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Script, module)


def copy_repo(into: Path) -> Script:
    """Copy the _async/_sync trees and the script; return the script loaded from the copy."""
    for tree in TREES:
        if (ROOT / tree).is_dir():
            shutil.copytree(ROOT / tree, into / tree, ignore=shutil.ignore_patterns("__pycache__"))
    (into / SCRIPT).parent.mkdir(parents=True)
    shutil.copyfile(ROOT / SCRIPT, into / SCRIPT)
    return load_script(into)


def a_package_source(root: Path) -> Path:
    """A module of redisaq/_async, preferring one that is not __init__.py."""
    sources = sorted((root / "redisaq" / "_async").glob("*.py"))
    assert sources, "redisaq/_async has no sources"
    return next((p for p in sources if p.name != "__init__.py"), sources[0])


def test_generated_trees_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    status = load_script(ROOT).check(ROOT)
    assert status == 0, capsys.readouterr().err


def test_check_fails_after_an_async_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = copy_repo(tmp_path)
    source = a_package_source(tmp_path)
    with source.open("a", encoding="utf-8") as f:
        f.write("\nDRIFT_MARKER = 1\n")
    capsys.readouterr()

    assert script.check(tmp_path) == 1
    err = capsys.readouterr().err
    assert f"redisaq/_sync/{source.name} differs" in err
    assert "+DRIFT_MARKER = 1" in err
    assert "run: python scripts/unasync.py" in err

    assert script.generate(tmp_path) == 0
    assert script.check(tmp_path) == 0


def test_check_reports_stale_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = copy_repo(tmp_path)
    source = a_package_source(tmp_path)
    source.unlink()
    capsys.readouterr()

    assert script.check(tmp_path) == 1
    assert f"redisaq/_sync/{source.name} is stale" in capsys.readouterr().err

    script.generate(tmp_path)  # may still fail: the removed module may have used EXTRA entries
    assert not (tmp_path / "redisaq" / "_sync" / source.name).exists()
