"""make gpu-check's dry mode: every step of the GPU machine's one command, on the CPU, on `smoke`."""
import json
import subprocess
import tarfile

from conftest import ROOT
from lsnb.build import gpucheck


def test_the_dry_gpu_check_runs_every_step_and_returns_one_archive(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(["make", "--no-print-directory", "gpu-check", "DRY=1", f"OUT={out}",
                             f"GPU_PY={ROOT / '.venv' / 'bin' / 'python'}"], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = json.loads((out / "steps.json").read_text())
    assert [s["step"] for s in steps if s["step"] != "set-up"] == ["cuda-tests", "benchmark", "edition"]
    assert all(s["ok"] for s in steps)
    with tarfile.open(out / "gpu-check.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"summary.txt", "throughput.json", "cuda-tests.log", "edition/gpu/manifest.json",
            "edition/gpu/01_label_smoothing.ipynb", "edition/gpu/results/01_label_smoothing.json"} <= names
    manifest = json.loads((out / "edition" / "gpu" / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and [c["chapter"] for c in manifest["chapters"]] == ["01_label_smoothing"]
    assert "make edition CHAPTERS" in manifest["chapters"][0]["command"]
    assert not (ROOT / "book" / "editions" / "gpu" / "01_label_smoothing.ipynb").exists() or \
        "smoke" not in (ROOT / "book" / "editions" / "gpu" / "manifest.json").read_text()  # the committed one untouched


def test_a_failed_step_is_recorded_and_the_summary_says_so():
    text = gpucheck.summary_text([{"step": "cuda-tests", "ok": False, "seconds": 3.0, "log": "cuda-tests.log"},
                                  {"step": "edition", "ok": True, "seconds": 200.0, "log": "edition.log"}],
                                 ["02_representations", "03_calibration"], dry=False)
    assert "cuda-tests   FAILED" in text and "edition      OK" in text and text.rstrip().endswith("FAILED    3.4 min")
    assert "chapters: 02_representations 03_calibration" in text
