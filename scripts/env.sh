#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install everything into it, then run a command in it.
#
#   scripts/env.sh nethical-train --model-type all      # what `make train` runs (in the current directory)
#   scripts/env.sh pytest                                # what `make test` runs
#
# Idempotent: a second call only checks a stamp file and runs the command. Settings (environment variables):
#   VENV=.venv                      where the environment lives
#   PYTHON=python3                  the interpreter that creates it (3.10 or newer)
#   TORCH_INDEX_URL=...             the torch build: default https://download.pytorch.org/whl/cpu without a GPU,
#                                   PyPI's default (CUDA) build when `nvidia-smi` sees one; for a given CUDA version
#                                   use e.g. https://download.pytorch.org/whl/cu126
#   TORCH_SPEC=torch                the requirement passed to pip for torch (e.g. torch==2.13.0)
#   TORCH_FALLBACK=2.13.0           the version taken from the default index when TORCH_INDEX_URL cannot be reached
#   EXTRAS=dev                      the project's extras (dev = test tools; add kaggle for Kaggle downloads)
# The environment is created with --system-site-packages, so a torch that is already installed (a CI image, a
# cluster module) is reused instead of downloaded again.
set -euo pipefail
CALLER_DIR="$PWD"
cd "$(dirname "$0")/.."
ROOT="$PWD"

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-dev}"
TORCH_SPEC="${TORCH_SPEC:-torch}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV (reuses globally installed packages such as torch)" >&2
    "$PYTHON" -m venv --system-site-packages "$VENV"
fi
PY="$VENV/bin/python"
STAMP="$VENV/.nethical-installed"
STATE="$(cat pyproject.toml setup.py | cksum) extras=$EXTRAS"

if [ "$(cat "$STAMP" 2>/dev/null)" != "$STATE" ] && ! "$PY" -c "import torch" 2>/dev/null; then
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        index=(--index-url "$TORCH_INDEX_URL")
    elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        index=()  # PyPI's Linux wheel is the CUDA build
    else
        index=(--index-url https://download.pytorch.org/whl/cpu)
    fi
    echo "[setup] installing $TORCH_SPEC ${index[*]:-(PyPI default build)}" >&2
    if ! "$PY" -m pip install -q --timeout 20 --retries 1 "$TORCH_SPEC" "${index[@]}"; then
        # the CPU index cannot be reached (a machine that sees only PyPI or a mirror): take the pinned version the
        # project is tested with from the default index instead (a CPU wheel where the mirror carries one)
        echo "[setup] that failed; installing torch==${TORCH_FALLBACK:-2.13.0} from the default index" >&2
        "$PY" -m pip install -q "torch==${TORCH_FALLBACK:-2.13.0}"
    fi
fi

# (re)install the project only when its packaging changed (the install is editable: code edits need nothing)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$STATE" ]; then
    echo "[setup] installing the project into $VENV (pip install -e .[$EXTRAS])" >&2
    "$PY" -m pip install -q -e ".[$EXTRAS]"
    echo "$STATE" > "$STAMP"
fi

[ "$#" -eq 0 ] && exit 0
case "$VENV" in /*) VENV_ABS="$VENV" ;; *) VENV_ABS="$ROOT/$VENV" ;; esac
export PATH="$VENV_ABS/bin:$PATH"
cd "$CALLER_DIR"  # the command runs where it was called (models/, lightning_logs/ land there)
exec "$@"
