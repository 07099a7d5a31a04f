#!/usr/bin/env bash
# README command 2: set up, lint, and run the test suite (CPU, a few minutes).
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
# shellcheck disable=SC1091
source "${MMTL_VENV:-$ROOT/.venv}/bin/activate"
ruff check mmtl tools tests configs benchmarks setup.py
ruff format --check mmtl tools tests configs benchmarks setup.py
python -m pytest tests "$@"
