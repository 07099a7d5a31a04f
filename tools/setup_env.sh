#!/usr/bin/env bash
# Create the virtual environment .venv (once) and install mmtl in it with the locked stack:
# every package at the version of requirements/lock.txt (docs/install.md says how to refresh
# it), then mmtl itself in develop mode. Fast when nothing changed: the install is redone only
# when requirements/ or setup.py change.
#   bash tools/setup_env.sh            # then: source .venv/bin/activate
# MMTL_VENV=path chooses another environment folder; PYTHON=python3.11 another interpreter.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMTL_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.mmtl-install-stamp"
WANT=$(cd "$ROOT" && cat requirements/*.txt setup.py | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && "$VENV/bin/python" -c 'import mmtl' 2>/dev/null; then
    echo "[setup] $VENV is up to date"
    exit 0
fi
# pip < 25 still performs `setup.py develop` installs, which mim needs to find an editable mmtl.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip>=23,<25"
# The lock is compiled for the supported platform; elsewhere the ranges of the top-level files.
PLATFORM=$("$VENV/bin/python" -c 'import platform, sys; print(sys.platform, platform.machine(), *sys.version_info[:2])')
if [ "$PLATFORM" = "linux x86_64 3 11" ]; then
    echo "[setup] installing requirements/lock.txt into $VENV (about a minute; torch is large)"
    REQUIREMENTS=(-r "$ROOT/requirements/lock.txt")
else
    echo "[setup] requirements/lock.txt is for Linux x86_64, Python 3.11; this is $PLATFORM:" \
        "installing the ranges of requirements/runtime.txt and tests.txt (not reproducible)"
    REQUIREMENTS=(-r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt")
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --no-build-isolation --no-use-pep517 -e "$ROOT"
echo "$WANT" > "$STAMP"
echo "[setup] done: $("$VENV/bin/python" -c 'import mmtl, torch, mmpretrain; print("mmtl", mmtl.__version__, "torch", torch.__version__, "mmpretrain", mmpretrain.__version__)' 2>/dev/null)"
