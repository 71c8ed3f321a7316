"""A grid of configs through the default local executor and a local Dask cluster gives the same finished
runs as a sequential loop; a killed grid resumes. Data: a tiny image folder made here (workers are processes)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

import distributed
from conftest import same_weights, weights
from lsnb.engine import config, grid, store


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """4 classes of 8x8 grey images with a bright pixel on the class's diagonal position, 24 train / 8 test each."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for part, n in (("train", 24), ("test", 8)):
        for k in range(4):
            (root / part / f"c{k}").mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 60, (8, 8), dtype=np.uint8)
                img[k, k] = 255
                Image.fromarray(img).save(root / part / f"c{k}" / f"{i:03d}.png")
    return f"imagefolder:{root}"


def grid_configs(dataset, epochs=4):
    base = config.TrainConfig(model="fcn", dataset=dataset, epochs=epochs, batch_size=16, lr=0.05, n_val=16,
                              schedule="linear", augment="shift2", model_args=(("hidden", (16, 16)),))
    cfgs = [base.with_(alpha=a, seed=s) for a in (0.0, 0.1) for s in (0, 1)]
    student = base.with_(teacher=cfgs[0].digest(), distill_temperature=2.0, distill_t2=True, augment="none",
                         model_args=(("hidden", (8, 8)),))
    return cfgs + [student, cfgs[0]]  # a student of the first config, and a config asked for twice


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def assert_same_runs(a, b):
    assert [r.config for r in a] == [r.config for r in b]
    for x, y in zip(a, b):
        assert same_weights(weights(x.model), weights(y.model)) and x.history[-1]["train_loss"] == y.history[-1]["train_loss"]


def test_waves_put_students_after_their_teachers(folder):
    cfgs = grid_configs(folder)
    first, second = grid.waves(list(dict.fromkeys(cfgs)))
    assert cfgs[4] in second and cfgs[4] not in first and len(first) == 4


def test_local_processes_and_dask_give_the_sequential_runs(folder, tmp_path, one_thread):
    cfgs = grid_configs(folder)
    sequential = grid.train_many(cfgs, runs_dir=tmp_path / "seq", device="cpu", workers=1)
    pool = grid.train_many(cfgs, runs_dir=tmp_path / "pool", device="cpu", workers=2, threads=1)
    assert_same_runs(sequential, pool)
    assert len(list((tmp_path / "pool").iterdir())) == 5, "one run folder per distinct config"
    assert sequential[4].metrics["teacher_targets"] == "precomputed"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = grid.train_many(cfgs, runs_dir=tmp_path / "dask", device="cpu", executor=client, threads=1)
    assert_same_runs(sequential, dask)


KILLED_GRID = """
import sys
from lsnb.engine import config, grid
cfgs = [config.TrainConfig.from_dict(eval(line)) for line in sys.stdin.read().splitlines()]
grid.train_many(cfgs, runs_dir=sys.argv[1], device="cpu", workers=2, threads=1)
"""


def test_a_grid_killed_mid_training_resumes_to_the_same_runs(folder, tmp_path, one_thread):
    cfgs = grid_configs(folder, epochs=60)[:4]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_GRID, str(killed)], stdin=subprocess.PIPE, text=True,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.stdin.write("\n".join(repr(c.to_dict()) for c in cfgs))
    proc.stdin.close()
    deadline = time.monotonic() + 180
    while not list(killed.glob("*/checkpoint.pt")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the grid and its workers, mid-training
    proc.wait()
    assert any(not store.RunDir(killed, c).is_finished() for c in cfgs), "the kill came after the grid had finished"
    resumed = grid.train_many(cfgs, runs_dir=killed, device="cpu", workers=2, threads=1)
    sequential = grid.train_many(cfgs, runs_dir=tmp_path / "seq", device="cpu", workers=1)
    assert_same_runs(sequential, resumed)
    assert all(len(r.history) == 60 for r in resumed)


def test_batched_units_through_local_processes(folder, tmp_path, one_thread, monkeypatch):
    """batched=2: the four same-architecture configs go to the workers as two batched models, the student
    alone after them; all of it in the store runs_dir/batched, and close to the normal runs (fp32)."""
    monkeypatch.setenv("LSNB_PRECISION", "fp32")  # the spawned workers inherit it
    cfgs = grid_configs(folder)
    pool = grid.train_many(cfgs, runs_dir=tmp_path, device="cpu", workers=2, threads=1, batched=2)
    assert [r.metrics.get("batched") for r in pool] == [2, 2, 2, 2, None, 2]
    assert {r.path.parent for r in pool} == {tmp_path / "batched"}
    sequential = grid.train_many(cfgs, runs_dir=tmp_path / "seq", device="cpu", workers=1)
    for b, s in zip(pool, sequential):
        for x, y in zip(weights(b.model), weights(s.model)):
            torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5)


class _DeadPool:
    """An executor whose worker died: every future raises what ProcessPoolExecutor raises then."""

    def submit(self, fn, *args):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool
        f = Future()
        f.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
        return f


def test_a_dead_worker_names_the_unfinished_configs_and_the_remedy(tmp_path):
    from lsnb.engine import grid, recipes
    cfgs = [recipes.fcn_config("smoke", epochs=1, hidden=8, seed=s) for s in (0, 1)]
    with pytest.raises(grid.GridError) as err:
        grid.train_many(cfgs, runs_dir=tmp_path, executor=_DeadPool())
    text = str(err.value)
    assert "BrokenProcessPool" in text and "2 of 2 configs unfinished" in text
    assert all(c.digest() in text for c in cfgs) and "Run it again to resume" in text


def test_a_worker_exits_when_its_grid_process_is_killed(tmp_path):
    import os, signal, subprocess, sys, textwrap, time
    script = textwrap.dedent("""
        import multiprocessing, os, signal, sys, time
        from concurrent.futures import ProcessPoolExecutor
        from lsnb.engine import grid
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=grid.watch_parent, initargs=(os.getpid(), 0.2))
            pool.submit(time.sleep, 0).result()
            worker, = pool._processes
            print(worker, flush=True)
            pool.submit(time.sleep, 120)
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    worker = int(proc.stdout.split()[0])
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(worker, signal.SIGKILL)
    pytest.fail(f"worker {worker} outlived its killed grid process")
