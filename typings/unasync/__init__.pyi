# Stub for the part of unasync 0.6.0 (untyped) that scripts/unasync.py uses.
from collections.abc import Sequence

class Rule:
    fromdir: str
    todir: str
    token_replacements: dict[str, str]
    def __init__(
        self, fromdir: str, todir: str, additional_replacements: dict[str, str] | None = ...
    ) -> None: ...

def unasync_files(fpath_list: Sequence[str], rules: Sequence[Rule]) -> None: ...
