#!/usr/bin/env bash
# Install the project with the benchmark peers (openai SDK, langchain-openai,
# llama-index-llms-openai(-like), redis), then run the benchmark harness and print its table.
#   bash scripts/bench.sh [--quick] [...]     speed and memory against the peers (benchmarks.run)
#   bash scripts/bench.sh plan-limit [...]    one key's plan limit (benchmarks.plan_limit; starts
#                                             a redis-server, installed with apt-get when missing)
set -euo pipefail
if [ "${1:-}" = "plan-limit" ]; then
  shift
  source "$(dirname "${BASH_SOURCE[0]}")/_services.sh"
  source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" benchmark
  python -m benchmarks.plan_limit "$@"
else
  source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" benchmark
  python -m benchmarks.run "$@"
fi
