"""The training engine and the run store, on a tiny synthetic dataset (no files, no network)."""
import dataclasses
import json

import pytest
import torch

from conftest import same_weights, synthetic_dataset, tiny_config, weights
from lsnb.engine import config, cudagraph, recipes, runs, store, train
from lsnb.data import images as data
from lsnb.engine import tasks


def test_train_then_load_from_store(tiny, tmp_path):
    cfg, calls = tiny
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    assert run.path == tmp_path / cfg.digest()
    assert [h["epoch"] for h in run.history] == [1, 2, 3]
    assert set(run.metrics) >= {"test_accuracy", "test_nll", "val_accuracy"}
    assert json.loads((run.path / "config.json").read_text()) == cfg.to_dict()
    assert not list(run.path.glob(".*tmp"))  # no temporary files left behind
    again = train.train(cfg, runs_dir=tmp_path, device="cpu")
    assert len(calls) == 1, "a finished run must be loaded, not trained (no data loaded)"
    assert same_weights(weights(run.model), weights(again.model))
    assert again.metrics == run.metrics and again.history == run.history


def test_training_is_deterministic_and_learns(tiny, tmp_path):
    cfg, _ = tiny
    cfg = cfg.with_(epochs=10, augment="none", lr=0.2)
    a = train.train(cfg, runs_dir=tmp_path / "a", device="cpu")
    b = train.train(cfg, runs_dir=tmp_path / "b", device="cpu")
    assert same_weights(weights(a.model), weights(b.model))
    assert a.history[-1]["train_loss"] < a.history[0]["train_loss"]
    assert a.metrics["test_accuracy"] > 0.5  # chance is 0.25


@pytest.mark.parametrize("precision", ["auto", "fp32", "fp16"])
def test_interrupted_run_resumes_to_the_same_weights(tiny, tmp_path, monkeypatch, precision):
    monkeypatch.setenv("LSNB_PRECISION", precision)
    if precision == "fp16":  # a scale that moves every step, so that a scaler not restored would change the run
        monkeypatch.setattr(train, "grad_scaler", lambda p, device: torch.amp.GradScaler(
            device.type, init_scale=2.0 ** 10, growth_interval=1) if p == "fp16" else None)
    cfg, _ = tiny
    full = train.train(cfg, runs_dir=tmp_path / "full", device="cpu")

    def interrupt(epoch, record):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train.train(cfg, runs_dir=tmp_path / "cut", device="cpu", on_epoch_end=interrupt)
    run_dir = tmp_path / "cut" / cfg.digest()
    assert (run_dir / "checkpoint.pt").exists() and not (run_dir / "metrics.json").exists()
    saved = store.load_checkpoint(run_dir / "checkpoint.pt")
    assert saved["precision"] == train.training_precision(torch.device("cpu"))
    if precision == "fp16":
        assert saved["scaler"]["scale"] != 2.0 ** 10                  # the scaler's state travels with the run
    seen = []
    resumed = train.train(cfg, runs_dir=tmp_path / "cut", device="cpu", on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [2, 3], "resuming must start after the last finished epoch"
    assert same_weights(weights(full.model), weights(resumed.model))
    assert resumed.history == [dict(h, seconds=r["seconds"]) for h, r in zip(full.history, resumed.history)]
    assert resumed.metrics["test_accuracy"] == full.metrics["test_accuracy"]
    assert resumed.metrics["precision"] == train.training_precision(torch.device("cpu"))


def test_precision_follows_the_hardware_and_can_be_forced(monkeypatch):
    monkeypatch.setenv("LSNB_PRECISION", "fp32")
    assert train.training_precision(torch.device("cpu")) == "fp32"
    monkeypatch.setenv("LSNB_PRECISION", "auto")
    expected = "bf16" if train.cpu_has_native_bf16() else "fp32"
    assert train.training_precision(torch.device("cpu")) == expected
    # GPUs: bf16 from compute capability 8.0 (A100, H100, H200), fp16 with a scaler below (T4, V100, P100)
    cuda = torch.device("cuda")
    for capability, want in (((9, 0), "bf16"), ((8, 0), "bf16"), ((7, 5), "fp16"), ((7, 0), "fp16"), ((6, 0), "fp16")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert train.training_precision(cuda) == want
    monkeypatch.setenv("LSNB_PRECISION", "fp32")
    assert train.training_precision(cuda) == "fp32"
    assert train.grad_scaler("fp16", torch.device("cpu")) is not None and train.grad_scaler("bf16", cuda) is None
    assert "gradient scaler" in cudagraph.unavailable(tiny_config(), cuda, "fp16")


def test_an_fp16_step_whose_gradients_overflow_is_skipped_and_the_scale_lowered(tiny):
    cfg, _ = tiny
    cfg = cfg.with_(model_args=(("hidden", (8, 8)), ("dropout", 0.0)))
    torch.manual_seed(0)
    model = tasks.new_model(cfg, (1, 28, 28), 4)
    optimizer = train.make_optimizer(model, cfg)
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 4, (16,))
    sums = (torch.zeros(()), torch.zeros(()))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
    before = weights(model)
    train.train_step(model, optimizer, cfg, x, y, None, sums=sums, precision="fp16", scaler=scaler)
    assert not same_weights(before, weights(model)) and scaler.get_scale() == 2.0 ** 8   # a normal step
    huge = torch.amp.GradScaler("cpu", init_scale=2.0 ** 120)                          # fp16 overflows (> 65504)
    before = weights(model)
    train.train_step(model, optimizer, cfg, x, y, None, sums=sums, precision="fp16", scaler=huge)
    assert same_weights(before, weights(model)), "a step with inf gradients must be skipped"
    assert huge.get_scale() < 2.0 ** 120 and all(torch.isfinite(p).all() for p in model.parameters())


def test_corrupt_checkpoint_is_reported_not_used(tiny, tmp_path):
    cfg, _ = tiny
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    ckpt = run.path / "checkpoint.pt"
    blob = bytearray(ckpt.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(blob))
    with pytest.raises(store.CorruptCheckpoint, match="checkpoint.pt is corrupt.*delete it"):
        train.train(cfg, runs_dir=tmp_path, device="cpu")
    (run.path / "metrics.json").unlink()  # an unfinished run with a corrupt checkpoint: also refused
    with pytest.raises(store.CorruptCheckpoint):
        train.train(cfg, runs_dir=tmp_path, device="cpu")
    ckpt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(store.CorruptCheckpoint):
        store.load_checkpoint(ckpt)


def test_atomic_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    store.atomic_write_json(target, {"a": 1})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "replace", boom)
    with pytest.raises(OSError):
        store.atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_config_mismatch_in_run_dir_is_refused(tiny, tmp_path):
    cfg, _ = tiny
    run_dir = store.RunDir(tmp_path, cfg)
    run_dir.path.mkdir(parents=True)
    store.atomic_write_json(run_dir.path / "config.json", cfg.with_(alpha=0.2).to_dict())
    with pytest.raises(RuntimeError, match="different config"):
        train.train(cfg, runs_dir=tmp_path, device="cpu")


@pytest.mark.parametrize("schedule, expected", [
    ("constant", [1, 1, 1, 1]), ("linear", [1, 0.75, 0.5, 0.25]), ("piecewise", [1, 1, 0.1, 0.01])])
def test_lr_schedules(schedule, expected):
    cfg = recipes.fcn_config("smoke").with_(schedule=schedule, milestones=(0.5, 0.75), lr_decay=0.1)
    got = [train.lr_factor(cfg, s, 4) for s in range(4)]
    assert got == pytest.approx(expected)


def test_weight_decay_goes_to_the_groups_the_model_names():
    cfg = recipes.fcn_config("smoke").with_(weight_decay=5e-4)
    from lsnb.models import vision as models
    model = tasks.new_model(cfg, (1, 28, 28), 10)
    decay, rest = train.param_groups(model, cfg.weight_decay)
    assert decay["weight_decay"] == 5e-4 and all(p.ndim == 2 for p in decay["params"])
    assert rest["weight_decay"] == 0 and all(p.ndim == 1 for p in rest["params"])
    opt = train.make_optimizer(model, cfg.with_(nesterov=True))
    assert opt.param_groups[0]["nesterov"] and opt.param_groups[0]["momentum"] == 0.9


def test_gradient_clipping_is_applied(tiny, tmp_path):
    cfg, _ = tiny
    clipped = train.train(cfg.with_(grad_clip=1e-3, epochs=1), runs_dir=tmp_path, device="cpu")
    free = train.train(cfg.with_(epochs=1), runs_dir=tmp_path, device="cpu")
    assert not same_weights(weights(clipped.model), weights(free.model))


def test_split_logits_are_computed_once_and_kept(tiny, tmp_path):
    cfg, calls = tiny
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    assert (run.path / "logits_test.pt").exists()  # written by training, beside metrics.json
    logits, labels = runs.split_logits(run, "test")
    assert logits.shape == (16, 4) and labels.shape == (16,)
    assert run.metrics["test_accuracy"] == (logits.argmax(1) == labels).float().mean().item()
    torch.testing.assert_close(logits, runs.predict(run.model, synthetic_dataset().test, cfg.augment))
    n_loads = len(calls)
    again, _ = runs.split_logits(run, "test")
    assert len(calls) == n_loads and torch.equal(again, logits)  # read back, no data loaded
    val, _ = runs.split_logits(run, "val")
    assert (run.path / "logits_val.pt").exists() and val.shape == (16, 4)
    tr, tr_labels = runs.split_logits(run, "train")  # a teacher's targets for its students
    assert tr.shape == (64, 4) and torch.equal(tr_labels, synthetic_dataset().train.y)
    with pytest.raises(ValueError, match="split='trian'"):
        runs.split_logits(run, "trian")


def test_snapshots_are_kept_at_evenly_spaced_steps(tiny, tmp_path):
    cfg, _ = tiny
    cfg = cfg.with_(snapshots=3)
    run = train.train(cfg, runs_dir=tmp_path, device="cpu")
    total = 3 * 4  # 3 epochs of 64 / 16 steps
    assert train.snapshot_steps(cfg, total) == [0, 4, 8, 12]
    snaps = runs.snapshots(run)
    assert [s for s, _, _ in snaps] == [0, 4, 8, 12] and [e for _, e, _ in snaps] == [0, 1, 2, 3]
    assert same_weights(weights(snaps[-1][2]), weights(run.model))  # the last snapshot is the final model
    assert not same_weights(weights(snaps[0][2]), weights(run.model))


def test_new_config_fields_keep_old_digests():
    cfg = recipes.fcn_config("cpu")
    assert "teacher" not in cfg.to_dict() and "snapshots" not in cfg.to_dict()
    assert cfg.with_(snapshots=2).digest() != cfg.digest()
    assert config.TrainConfig.from_dict(cfg.with_(distill_temperature=3.0).to_dict()).distill_temperature == 3.0


def test_a_field_added_with_a_default_cannot_change_any_digest():
    """By construction: a config class with one more field hashes every old config as before."""
    grown = dataclasses.make_dataclass("Grown", [("label_noise", float, dataclasses.field(default=0.0))],
                                       bases=(config.TrainConfig,), frozen=True)
    for old in (recipes.fcn_config("cpu"), recipes.transformer_config("smoke", alpha=0.1),
                recipes.resnet_config("paper").with_(snapshots=4, teacher="0123456789abcdef")):
        new = grown(**dataclasses.asdict(old))
        assert new.digest() == old.digest()
        assert new.with_(label_noise=0.2).digest() != old.digest()


# Pinned again whenever the cpu profile's recipes change on purpose (last: the convolutional networks and the
# Transformer validate only after their last epoch on cpu, which retrains them).
PINNED = {"fcn cpu 0.1 1": "54ae49b43925eddc", "transformer cpu 0 0": "fa8f0e51b3110dfa",
          "resnet cpu table2 0.1 1": "f5efeb9cae0b350b"}


def test_validation_after_the_last_epoch_only_gives_the_same_model_and_final_metrics(tiny, tmp_path):
    cfg, _ = tiny
    cfg = cfg.with_(epochs=3)
    every = train.train(cfg, runs_dir=tmp_path, device="cpu")
    last = train.train(cfg.with_(validate_every_epoch=False), runs_dir=tmp_path, device="cpu")
    assert last.config.digest() != every.config.digest()
    assert all("val_accuracy" in h for h in every.history)
    assert ["val_accuracy" in h for h in last.history] == [False, False, True]
    assert same_weights(weights(last.model), weights(every.model))  # validating draws no random numbers
    for key in ("val_accuracy", "val_nll", "test_accuracy"):
        assert last.metrics[key] == pytest.approx(every.metrics[key])
    assert recipes.fcn_config("cpu").validate_every_epoch  # chapter 1 draws the FCN's curves
    assert not recipes.table2_config("AlexNet", "cpu").validate_every_epoch
    assert recipes.resnet_config("gpu").validate_every_epoch


def test_digests_of_stored_runs_are_pinned():
    """The names of existing run folders: a change here retrains every stored run (say so if it is meant)."""
    assert recipes.fcn_config("cpu", alpha=0.1, seed=1).digest() == PINNED["fcn cpu 0.1 1"]
    assert recipes.transformer_config("cpu").digest() == PINNED["transformer cpu 0 0"]
    assert recipes.table2_config("ResNet", "cpu", alpha=0.1, seed=1).digest() == PINNED["resnet cpu table2 0.1 1"]


def test_distillation_needs_a_finished_teacher_on_the_same_data(tiny, tmp_path):
    cfg, _ = tiny
    student = cfg.with_(teacher="0123456789abcdef", augment="none", alpha=0.0, model_args=(("hidden", (8, 8)),))
    with pytest.raises(FileNotFoundError, match="teacher run 0123456789abcdef is not finished"):
        train.train(student, runs_dir=tmp_path, device="cpu")
    assert not (tmp_path / student.digest()).exists()  # nothing half-written
    teacher = train.train(cfg, runs_dir=tmp_path, device="cpu")
    with pytest.raises(ValueError, match="n_val: teacher 16 vs student 0"):
        train.train(student.with_(teacher=cfg.digest(), n_val=0), runs_dir=tmp_path, device="cpu")
    run = train.train(student.with_(teacher=cfg.digest(), distill_temperature=2.0), runs_dir=tmp_path, device="cpu")
    assert run.metrics["teacher_targets"] == "precomputed"
    assert (teacher.path / "logits_train.pt").exists()  # computed once, kept with the teacher
    on_the_fly = train.train(student.with_(teacher=cfg.digest(), augment="shift2"), runs_dir=tmp_path, device="cpu")
    assert on_the_fly.metrics["teacher_targets"] == "on the fly"


def test_a_diverging_run_stops_with_a_clear_error_and_is_not_finished(tiny, tmp_path):
    cfg, _ = tiny
    cfg = cfg.with_(lr=1e12, epochs=2, augment="none", model_args=(("hidden", (32, 32)), ("dropout", 0.0)))
    with pytest.raises(FloatingPointError, match="diverged in epoch 1.*lower lr or set grad_clip"):
        train.train(cfg, runs_dir=tmp_path, device="cpu")
    assert not (tmp_path / cfg.digest() / "metrics.json").exists()
