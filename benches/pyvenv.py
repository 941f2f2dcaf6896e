"""The virtual environment a benchmark script runs in: its pinned packages, under ~/.cache (not
the repository, not CI), created on first use."""

import os
import subprocess
import sys


def ensure_venv(venv, pinned):
    """Re-runs the calling script inside `venv` with `pinned` installed (created on first use)."""
    python = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", *pinned])
    os.execv(python, [python, *sys.argv])
