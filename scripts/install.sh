#!/usr/bin/env bash
# Create .venv at the repository root and install modelgit (editable) with its test extras.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -m venv "$root/.venv"
fi
"$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[test]"
# Write modelgit's bytecode now, as a non-editable install does: where PYTHONDONTWRITEBYTECODE
# is set, every command would otherwise compile modelgit's modules again (about 0.17 s a run).
"$root/.venv/bin/python" -m compileall -q "$root/modelgit" >/dev/null
