#!/usr/bin/env bash
# Install the package and run the demo: real ModelsLab when MODELSLAB_API_KEY is set,
# otherwise the bundled emulator on loopback.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" all
python examples/demo.py "$@"
