"""Test-wide settings: no network, no progress bars, and scratch run/result stores.

The golden notebooks (nbval) run in kernels that inherit this environment, so
they train into a fresh run store and write their results to a scratch folder.
"""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SCRATCH = Path(tempfile.mkdtemp(prefix="lsnb-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
os.environ["LSNB_PROGRESS"] = "0"
os.environ["LSNB_RUNS"] = str(_SCRATCH / "runs")
os.environ["LSNB_RESULTS"] = str(_SCRATCH / "results")
os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture
def root() -> Path:
    return ROOT
