#!/usr/bin/env bash
# CI smoke of the benchmark suite: every scenario once at tiny sizes, so the suite cannot rot.
# It asserts correctness only (no errors, no over-refund, `salesrefund check` passes, the stored
# refunds are the acknowledged ones, the baseline writes the engine's rows), never speed.
# Without wrk it uses the Python load generator; without the bench group the peer is skipped;
# without PostgreSQL the postgres half is skipped (all reported, none fatal).
set -euo pipefail
cd "$(dirname "$0")/.."
exec uv run python -m bench --smoke --engine "${BENCH_ENGINE:-both}" --json bench/results/smoke.json "$@"
