#!/usr/bin/env bash
# Idempotent setup of the DuckDB peer for the consent-filtered snapshot benchmark.
# Ensures bench/.venv exists (shared with bench/presidio; never recreated) and
# installs a pinned duckdb wheel from PyPI into it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # repo root

VENV=bench/.venv
DUCKDB_VERSION=2.0.0

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi

"$VENV/bin/pip" install --quiet "duckdb==$DUCKDB_VERSION"

# Sanity check: the pinned version imports.
"$VENV/bin/python" -c "import duckdb, sys; v = duckdb.__version__; print('duckdb', v, file=sys.stderr); sys.exit(0 if v == '$DUCKDB_VERSION' else 1)"
echo "duckdb venv ready: $VENV" >&2
