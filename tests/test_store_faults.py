"""Faults of the run store found by an adversarial run, each with the behaviour that fixes it:
two processes on one run, stale and garbage files, kills mid-write, unwritable folders, crafted pickles."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from conftest import ROOT, same_weights, tiny_config, weights
from lsnb.chapters import common as chapters
from lsnb.engine import runs, store, train

# A child process that trains the tiny synthetic config of test_train.py (``tiny``) into RUNS.
CHILD = textwrap.dedent("""
    import hashlib, os, signal, sys, time
    sys.path.insert(0, {tests!r})
    from synthetic import synthetic_dataset
    from lsnb.engine import config, runs, store, train
    runs.load_data = lambda _: synthetic_dataset()
    cfg = config.TrainConfig.from_dict({config!r})
    mode = sys.argv[1]
    trained = []

    def on_epoch_end(epoch, record):
        trained.append(epoch)
        if mode == "hold" and epoch == 1:  # pause mid-training until the test says go on
            open(os.path.join(sys.argv[2], "holding"), "w").close()
            while not os.path.exists(os.path.join(sys.argv[2], "release")):
                time.sleep(0.05)

    if mode == "die-mid-write":  # killed after writing epoch 2's checkpoint, before renaming it into place
        real_replace = store.os.replace
        def replace(src, dst):
            if str(dst).endswith("checkpoint.pt") and len(trained) == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)
        store.os.replace = replace
    run = train.train(cfg, runs_dir=sys.argv[2], device="cpu", progress=False, on_epoch_end=on_epoch_end)
    digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in run.model.state_dict().values())).hexdigest()
    print("trained" if trained else "loaded", digest)
""")


def child(mode, runs, cfg):
    script = CHILD.format(tests=str(ROOT / "tests"), config=cfg.to_dict())
    return subprocess.Popen([sys.executable, "-c", script, mode, str(runs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_two_processes_on_one_run_train_it_once(tmp_path):
    """B asks for the run while A is in the middle of training it: B waits for A's lock, then loads A's model
    (without the lock, B trained it too and the lagging one overwrote the other's finished checkpoint)."""
    cfg = tiny_config()
    a = child("hold", tmp_path, cfg)
    b = None
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "holding").exists():
            assert a.poll() is None and time.monotonic() < deadline, a.stderr.read()[-2000:]
            time.sleep(0.05)
        b = child("fast", tmp_path, cfg)
        said = ""
        while "is being trained by another process; waiting" not in said:  # B finds the run locked...
            line = b.stderr.readline()
            assert line, said + "\n(B ended without waiting for the lock)"  # ...or it trained it too
            said += line
        assert b.poll() is None
        (tmp_path / "release").touch()
        (out_a, err_a), (out_b, err_b) = a.communicate(timeout=300), b.communicate(timeout=300)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
    assert a.returncode == 0 and b.returncode == 0, (err_a[-2000:], err_b[-2000:])
    assert out_a.split()[0] == "trained" and out_b.split()[0] == "loaded"
    assert out_a.split()[1] == out_b.split()[1], "both return the finished model"


def test_kill_during_a_write_resumes_to_the_same_weights_and_cleans_up(tmp_path):
    cfg = tiny_config()
    p = child("die-mid-write", tmp_path / "cut", cfg)
    p.communicate(timeout=300)
    assert p.returncode == -9
    run_path = tmp_path / "cut" / cfg.digest()
    assert list(run_path.glob(".checkpoint.pt.*.tmp")), "the kill left epoch 2's checkpoint under its temporary name"
    assert store.load_checkpoint(run_path / "checkpoint.pt")["epoch"] == 1
    for store_dir in (tmp_path / "cut", tmp_path / "full"):
        p = child("fast", store_dir, cfg)
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    resumed = (tmp_path / "cut" / cfg.digest())
    assert not list(resumed.rglob("*.tmp")), "the next process removes what the killed writer left"
    a = train.train(cfg, runs_dir=tmp_path / "cut", device="cpu")
    b = train.train(cfg, runs_dir=tmp_path / "full", device="cpu")
    assert same_weights(weights(a.model), weights(b.model))


def test_a_finished_run_with_an_earlier_epochs_checkpoint_is_refused(tiny, tmp_path):
    """A process that trained the same config without the lock replaced the final model with epoch 1's."""
    cfg, _ = tiny
    kept = {}

    def keep(epoch, record):
        kept.setdefault(epoch, (tmp_path / cfg.digest() / "checkpoint.pt").read_bytes())

    run = train.train(cfg, runs_dir=tmp_path, device="cpu", on_epoch_end=keep)
    (run.path / "checkpoint.pt").write_bytes(kept[1])
    with pytest.raises(store.CorruptRunFile, match=r"holds the model after epoch 1, but the run finished 3 of 3 "
                                                   r"epochs.*delete .*to retrain"):
        train.train(cfg, runs_dir=tmp_path, device="cpu")


@pytest.mark.parametrize("name", ["metrics.json", "history.json", "config.json"])
@pytest.mark.parametrize("content", [b'{"test_accuracy": 0.6', b"\x00\xff garbage"])
def test_a_truncated_or_garbage_json_file_names_itself_and_the_remedy(tiny, tmp_path, name, content):
    cfg, _ = tiny
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    (run.path / name).write_bytes(content)
    with pytest.raises(store.CorruptRunFile, match=rf"{name} is not valid JSON .*delete the run folder"):
        train.train(cfg, runs_dir=tmp_path, device="cpu")


def test_a_finished_run_whose_config_json_is_another_config_is_refused(tiny, tmp_path):
    cfg, _ = tiny
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    store.atomic_write_json(run.path / "config.json", cfg.with_(alpha=0.3).to_dict())
    with pytest.raises(store.CorruptRunFile, match="different config than its hash says"):
        train.train(cfg, runs_dir=tmp_path, device="cpu")


def test_an_unwritable_run_store_is_named_with_its_parameter(tiny, tmp_path):
    cfg, calls = tiny
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(PermissionError, match=r"runs_dir='.*a-file/runs' is not a folder this process can write"):
        train.train(cfg, runs_dir=blocker / "runs", device="cpu")


@pytest.mark.parametrize("param", ["runs_dir", "results_dir"])
def test_setup_checks_the_folders_before_any_work(tmp_path, param):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(PermissionError, match=rf"{param}='.*a-file/out' is not a folder this process can write"):
        chapters.setup("smoke", **{param: blocker / "out"})


def test_a_corrupt_logits_cache_is_recomputed_not_used(tiny, tmp_path):
    cfg, _ = tiny
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    logits, labels = runs.split_logits(run, "test")
    path = store.logits_path(run.path, "test")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.warns(UserWarning, match="logits_test.pt is corrupt.*recomputed from the trained model"):
        again, again_labels = runs.split_logits(run, "test")
    assert torch.equal(again, logits) and torch.equal(again_labels, labels)
    assert torch.equal(store.load_checkpoint(path)["logits"], logits)


def test_remedies_name_what_to_delete(tmp_path):
    assert "delete it to retrain" in store.remedy(tmp_path / "r" / "checkpoint.pt")
    assert "recomputed" in store.remedy(tmp_path / "r" / "logits_val.pt")
    assert f"delete the run folder {tmp_path / 'r'}" in store.remedy(tmp_path / "r" / "snapshots" / "step_0000004.pt")


class Payload:
    """What a crafted file in a shared run store could hold: unpickling it calls a function of the attacker's."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_checkpoint_that_would_run_code_is_not_loaded(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "checkpoint.pt"
    store.save_checkpoint(path, {"model": Payload(marker)})  # a valid checksum: only the unpickler can refuse it
    pickle.loads(pickle.dumps(Payload(tmp_path / "proof")))  # the payload is real: plain pickle runs it
    assert (tmp_path / "proof").exists()
    with pytest.raises(store.CorruptCheckpoint, match="not loaded .that could run code."):
        store.load_checkpoint(path)
    assert not marker.exists()


def test_checkpoints_the_loop_writes_load_with_weights_only(tiny, tmp_path):
    cfg, _ = tiny
    run = train.train(cfg.with_(snapshots=2), runs_dir=tmp_path, device="cpu")
    for path in [run.path / "checkpoint.pt", *run.path.glob("snapshots/*.pt"), *run.path.glob("logits_*.pt")]:
        assert isinstance(store.load_checkpoint(path), dict)
    assert json.loads((run.path / "metrics.json").read_text())["test_accuracy"] >= 0


@pytest.mark.parametrize("name, content, words", [
    ("history.json", None, "history.json is missing; delete the run folder"),
    ("config.json", None, "config.json is missing; delete the run folder"),
    ("history.json", "null", "history.json holds NoneType 'None', not the list"),
    ("metrics.json", "null", "metrics.json holds NoneType 'None', not the dict"),
    ("metrics.json", "[1, 2]", "metrics.json holds list"),
])
def test_a_finished_run_with_a_missing_or_wrong_file_names_it_and_the_remedy(tmp_path, name, content, words):
    from lsnb.engine import recipes, store, train
    cfg = recipes.fcn_config("smoke", epochs=1, hidden=8).with_(n_train=200, n_val=50, n_test=50)
    run = train.train(cfg, runs_dir=tmp_path, progress=False)
    path = run.path / name
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(store.CorruptRunFile, match=words):
        train.train(cfg, runs_dir=tmp_path, progress=False)


def test_a_corrupt_derived_number_is_measured_again_not_a_reason_to_retrain(tmp_path):
    from lsnb.engine import recipes, runs, train
    cfg = recipes.fcn_config("smoke", epochs=1, hidden=8).with_(n_train=200, n_val=50, n_test=50)
    run = train.train(cfg, runs_dir=tmp_path, progress=False)
    assert runs.derived(run, "geometry", "x_v1", lambda: {"a": 1}) == {"a": 1}
    (run.path / "geometry" / "x_v1.json").write_text('{"a": ')             # truncated
    assert runs.derived(run, "geometry", "x_v1", lambda: {"a": 2}) == {"a": 2}
    assert runs.derived(run, "geometry", "x_v1", lambda: pytest.fail("recomputed")) == {"a": 2}
