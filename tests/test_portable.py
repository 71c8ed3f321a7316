"""The portable numeric mode of the golden notebooks (lsnb.build.portable): it wins over the caller's settings."""
import json
import os
import subprocess
import sys

import pytest

from conftest import GOLDEN_SKIP, ROOT
from lsnb.build import portable

PROBE = ("import torch, lsnb.engine.train as t; "
         "print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads(), torch.cuda.is_available(), "
         "t.training_precision(t.default_device()), t.default_device())")


def test_portable_environment_overrides_the_callers():
    env = portable.environ({"OMP_NUM_THREADS": "8", "ATEN_CPU_CAPABILITY": "avx512", "LSNB_PRECISION": "auto",
                            "HOME": "/home/x"})
    assert env["OMP_NUM_THREADS"] == "1" and env["ATEN_CPU_CAPABILITY"] == "avx2"
    assert env["LSNB_PRECISION"] == "fp32" and env["CUDA_VISIBLE_DEVICES"] == "" and env["HOME"] == "/home/x"


@pytest.mark.skipif(bool(GOLDEN_SKIP), reason=str(GOLDEN_SKIP))
def test_a_process_started_in_the_portable_mode_runs_the_pinned_kernels():
    """Whatever the caller set (other ISA, more threads, bf16), the process sees the pinned mode."""
    env = dict(os.environ, OMP_NUM_THREADS="2", ATEN_CPU_CAPABILITY="default", LSNB_PRECISION="auto")
    out = subprocess.run([sys.executable, "-m", "lsnb.build.portable", sys.executable, "-c", PROBE], env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout.split()
    assert out == ["AVX2", "1", "False", "fp32", "cpu"]


def test_portable_mode_without_a_command_explains_itself(capsys):
    assert portable.main([]) == 2
    assert "MKL_CBWR=COMPATIBLE" in capsys.readouterr().err


def test_is_active_reads_the_environment(monkeypatch):
    for k, v in portable.PORTABLE_ENV.items():
        monkeypatch.setenv(k, v)
    assert portable.is_active()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert not portable.is_active()


def test_other_processors_get_a_reason(monkeypatch):
    monkeypatch.setattr(portable.platform, "machine", lambda: "aarch64")
    assert "aarch64" in portable.unsupported_reason()
    monkeypatch.setattr(portable.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(portable, "cpu_flags", lambda: {"sse2", "avx"})
    assert "no AVX2" in portable.unsupported_reason()
    monkeypatch.setattr(portable, "cpu_flags", lambda: {"avx2", "fma", "avx512f"})
    assert portable.unsupported_reason() is None


def test_chapter_3b_golden_is_skipped_on_another_corpus(tmp_path, monkeypatch):
    from conftest import corpus_skip_reason
    recorded = (ROOT / "tests" / "golden" / "en_de.digest").read_text().strip()
    monkeypatch.setenv("LSNB_DATA", str(tmp_path))
    assert "none (run make data)" in corpus_skip_reason()
    (tmp_path / "en_de").mkdir()
    (tmp_path / "en_de" / "meta.json").write_text(json.dumps({"digest": "0123456789abcdef"}))
    assert "0123456789abcdef" in corpus_skip_reason() and recorded in corpus_skip_reason()
    (tmp_path / "en_de" / "meta.json").write_text(json.dumps({"digest": recorded}))
    assert corpus_skip_reason() is None
