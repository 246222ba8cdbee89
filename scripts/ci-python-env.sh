#!/usr/bin/env bash
# Create (or reuse) the Python virtual environment the warehouse tests use:
# DuckDB and chDB (embedded ClickHouse) from PyPI, and warcio (writes the WARC
# of the HTML round trip test). Prints the venv's python
# path on stdout as its only output, so CI can do
#   export NEWSPIPE_TEST_PYTHON="$(scripts/ci-python-env.sh)"
#
# usage: scripts/ci-python-env.sh [VENV_DIR]   (default: .venv in the repo)
# env:   PYTHON (interpreter that creates the venv; default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
# Pinned floors: the tests use DuckDB's read_json/read_parquet with unnest and
# chDB's in-process query() with arrayJoin, both stable in these releases.
PACKAGES=("duckdb>=1.1" "chdb>=2.0" "warcio>=1.7")

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" >&2
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import duckdb, chdb, warcio' 2>/dev/null; then
  "$PY" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2
fi
"$PY" -c 'import duckdb, chdb, warcio' >&2
echo "$(cd "$VENV" && pwd)/bin/python"
