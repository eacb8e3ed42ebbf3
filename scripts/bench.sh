#!/usr/bin/env bash
# Install the project with the benchmark peers (openai SDK, langchain-openai,
# llama-index-llms-openai), then run the whole benchmark harness and print its table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" benchmark
python -m benchmarks.run "$@"
