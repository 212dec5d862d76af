#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine with Python >= 3.10:
#   1. .venv with redisaq installed editable plus the dev extras;
#   2. a Redis answering at 127.0.0.1:6379 (installed with apt-get and started if needed).
# It never stops or kills any process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
REDIS_HOST=127.0.0.1
REDIS_PORT=${REDISAQ_SETUP_REDIS_PORT:-6379}  # override only to test this script

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

apt_install() {
    echo "setup: apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# --- 1. virtualenv ---------------------------------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "setup: $PYTHON is $("$PYTHON" --version 2>&1); redisaq needs Python >= 3.10" >&2
    exit 1
fi
if [[ -x .venv/bin/python ]]; then
    echo "setup: reusing .venv ($(.venv/bin/python --version))"
else
    echo "setup: creating .venv with $("$PYTHON" --version)"
    if ! "$PYTHON" -m venv .venv; then
        rm -rf .venv  # a half-made venv (Debian without python3-venv) would be "reused" next time
        apt_install python3-venv
        "$PYTHON" -m venv .venv
    fi
fi
echo "setup: pip install -e '.[dev]'"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# --- 2. Redis --------------------------------------------------------------------------------
redis_up() {
    .venv/bin/python - "$REDIS_HOST" "$REDIS_PORT" <<'PY' >/dev/null 2>&1
import sys

import redis

client = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), socket_timeout=1, socket_connect_timeout=1)
try:
    sys.exit(0 if client.ping() else 1)
except redis.RedisError:
    sys.exit(1)
PY
}

if redis_up; then
    echo "setup: Redis already answers at $REDIS_HOST:$REDIS_PORT"
else
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server
    fi
    if redis_up; then  # the package's service may have started it
        echo "setup: Redis answers at $REDIS_HOST:$REDIS_PORT after the install"
    else
        echo "setup: starting redis-server on $REDIS_HOST:$REDIS_PORT (no persistence)"
        redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
            --save "" --appendonly no
        for _ in $(seq 50); do  # up to ~10 s
            redis_up && break
            sleep 0.2
        done
        if ! redis_up; then
            echo "setup: Redis does not answer at $REDIS_HOST:$REDIS_PORT after 10 s" >&2
            exit 1
        fi
        echo "setup: Redis is up"
    fi
fi
echo "setup: done"
