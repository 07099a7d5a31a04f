#!/usr/bin/env bash
# README command 2: set up, lint, and run the whole test suite (CPU, about 20 min on 2 cores;
# `bash tools/run_tests.sh -m "not slow"` leaves out the slow end-to-end runs: about 4 min).
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
# shellcheck disable=SC1091
source "${MMTL_VENV:-$ROOT/.venv}/bin/activate"
ruff check mmtl tools tests configs benchmarks setup.py
ruff format --check mmtl tools tests configs benchmarks setup.py
# Every test, the slow end-to-end ones included, but the whole-workflow proofs (-m proof: the
# demo against README's figures, every backbone family through every tool). A later -m in "$@"
# replaces this one.
python -m pytest tests -m "not proof" "$@"
