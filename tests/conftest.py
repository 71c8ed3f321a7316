"""Test-wide settings: no network, no progress bars, scratch run/result stores, and the
portable numeric mode for the golden notebooks.

The golden notebooks (nbval) run in kernels that inherit this environment, so they
train into a fresh run store and write their results to a scratch folder. Their
kernels start with :data:`lsnb.build.portable.PORTABLE_ENV` (CPU only, fp32, one thread,
AVX2 kernels), the mode ``make golden`` executed them in, so that they print the same
digits on every x86-64 machine; elsewhere they are skipped with the reason. The unit
tests run in the machine's own mode (its GPU, its threads, its instruction set).
"""
import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from lsnb.data import images as data
from lsnb.build import portable
from lsnb.engine import runs
from synthetic import synthetic_dataset, tiny_config  # noqa: F401 (the tests import them from here)

ROOT = Path(__file__).resolve().parents[1]
_SCRATCH = Path(tempfile.mkdtemp(prefix="lsnb-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
os.environ["LSNB_PROGRESS"] = "0"
os.environ["LSNB_RUNS"] = str(_SCRATCH / "runs")
os.environ["LSNB_RESULTS"] = str(_SCRATCH / "results")
os.environ.setdefault("PYTHONHASHSEED", "0")

GOLDEN_SKIP = portable.unsupported_reason()


def corpus_skip_reason() -> str | None:
    """Chapter 3b's golden digits hold for the en_de corpus it was executed on (``make golden`` records its
    digest); a machine without some of the base catalogs, or with another FreeDict, builds another corpus."""
    recorded = (ROOT / "tests" / "golden" / "en_de.digest").read_text().strip()
    meta = data.default_root() / "en_de" / "meta.json"
    here = json.loads(meta.read_text())["digest"] if meta.exists() else "none (run make data)"
    if here != recorded:
        return (f"chapter 3b's golden notebook was executed on the en_de corpus {recorded}, this machine's is "
                f"{here}: other gettext catalogs or FreeDict, so other numbers (lsnb.data.corpus.BASE_CATALOGS)")
    return None


def _is_golden_cell(item) -> bool:
    return type(item).__module__.startswith("nbval")


def pytest_collection_modifyitems(config, items):
    corpus_skip = corpus_skip_reason()
    for item in items:
        if not _is_golden_cell(item):
            continue
        if GOLDEN_SKIP:
            item.add_marker(pytest.mark.skip(reason=GOLDEN_SKIP))
        elif corpus_skip and item.path.name.startswith("03b_"):
            item.add_marker(pytest.mark.skip(reason=corpus_skip))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Start each golden notebook's kernel (nbval does it in the first cell's set-up) in the portable mode."""
    if not _is_golden_cell(item):
        yield
        return
    saved = dict(os.environ)
    os.environ.update(portable.PORTABLE_ENV)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def tiny(monkeypatch):
    """:func:`tiny_config`, with load_data answering :func:`synthetic_dataset` and counting its calls."""
    calls = []

    def fake_load(config):
        calls.append(config)
        return synthetic_dataset()

    monkeypatch.setattr(runs, "load_data", fake_load)
    return tiny_config(), calls


def weights(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def same_weights(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))
