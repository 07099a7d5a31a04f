#!/usr/bin/env bash
# Run every benchmark and collect the tables: bash benchmarks/run_all.sh [--quick] [--only NAME ...]
# (uses .venv/bin/python when it exists; writes work_dirs/benchmarks/summary.md; --docs also
# rewrites their sections of docs/benchmark_results.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=python
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
exec "$PYTHON" benchmarks/run_all.py "$@"
