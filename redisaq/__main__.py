"""``python -m redisaq``: the same as the ``redisaq`` command (see redisaq/cli.py)."""

from redisaq.cli import main

raise SystemExit(main())
