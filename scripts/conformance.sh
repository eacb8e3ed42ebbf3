#!/usr/bin/env bash
# Install the package, then run the conformance probes (docs/conformance.md): against the real
# ModelsLab API when MODELSLAB_API_KEY is set (it then needs --yes), otherwise offline against
# an emulator started on loopback. Arguments go to `python -m modelslab_emulator.conformance`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" emulator
python -m modelslab_emulator.conformance "$@"
