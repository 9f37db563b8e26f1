#!/usr/bin/env bash
# Build the one-file executable dist/relay with PyInstaller, on the machine it is for (PyInstaller
# does not cross-compile): Linux here and in CI; on a Mac it makes a macOS executable for that
# Mac's architecture (run it on Apple Silicon and on Intel for both). Usage: packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || { python3 -m venv .venv; PY=.venv/bin/python; }
"$PY" -m pip install -q -e . 'pyinstaller>=6.6'
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN relay.spec
ls -l dist/relay
