"""Hatch build hook: regenerate redisaq/_sync from redisaq/_async before sdist and wheel builds."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class RegenerateSync(BuildHookInterface[BuilderConfig]):
    """Runs scripts/unasync.py's generate_package() on the tree being built.

    Idempotent: on a clean tree it changes nothing; from an unpacked sdist it only touches that
    copy. Editable installs are skipped, so a stale committed tree still fails
    `python scripts/unasync.py --check` in CI instead of being fixed silently by `pip install -e`.
    """

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        script = Path(self.root) / "scripts" / "unasync.py"
        spec = importlib.util.spec_from_file_location("_redisaq_unasync", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        generate_package: Callable[[Path], None] = module.generate_package
        generate_package(Path(self.root))
