#!/usr/bin/env bash
# Lint, codegen check, type check and tests, in CI order; stops at the first failure.
# Extra arguments go to pytest:  bash scripts/test.sh -k consumer -x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -x .venv/bin/python ]]; then
    echo "test: no .venv here; run: bash scripts/setup.sh" >&2
    exit 1
fi
PATH="$PWD/.venv/bin:$PATH"

step() {
    echo "==> $*"
    "$@"
}

step ruff check .
step ruff format --check .  # generated trees are excluded in pyproject.toml
step python scripts/unasync.py --check
step mypy

echo "==> pytest $*"
status=0
python -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "test: pytest collected no tests (exit code 5); treating that as a failure" >&2
    exit 1
fi
exit "$status"
