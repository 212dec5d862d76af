"""A handler module that fails while importing (for the CLI's error message)."""

raise RuntimeError("this module is broken on purpose")
