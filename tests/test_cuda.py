"""On CUDA (skipped where there is no GPU): one training step of each model family through the one loop; the
step captured as a CUDA graph against the eager loop (lsnb.engine.cudagraph); batched members against runs trained
alone (lsnb.engine.batched)."""
import pytest
import torch

from lsnb.engine import batched, recipes, runs, train
from lsnb.data import images as data
from lsnb.engine.config import TrainConfig
from lsnb.engine import tasks

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def image_dataset(config, shape):
    g = torch.Generator().manual_seed(0)
    split = lambda n: data.Split(torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
                                 torch.randint(0, 10, (n,), generator=g))
    return data.Dataset(config.dataset, split(32), split(16), split(16), tuple("abcdefghij"))


def token_dataset(config):
    from lsnb.data.text import BOS, PAD
    g = torch.Generator().manual_seed(0)
    x = torch.randint(4, 8000, (32, 2, 24), generator=g)
    x[:, 1, 0] = BOS
    x[:, :, 16:] = PAD
    split = data.Split(x, x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, -100))
    return data.Dataset(config.dataset, split, split, split, tuple(str(i) for i in range(8000)))


@pytest.mark.parametrize("family", ["fcn", "alexnet", "resnet", "transformer"])
def test_one_step_of_each_model_family_on_cuda(family, tmp_path, monkeypatch):
    cfg = {"fcn": recipes.fcn_config, "alexnet": recipes.alexnet_config, "resnet": recipes.resnet_config,
           "transformer": recipes.transformer_config}[family]("smoke", alpha=0.1)
    shape = (3, 32, 32) if family in ("alexnet", "resnet") else (1, 28, 28)
    monkeypatch.setattr(runs, "load_data",
                        token_dataset if family == "transformer" else lambda c: image_dataset(c, shape))
    run = train.train(cfg.with_(epochs=1, batch_size=32, n_val=16), runs_dir=tmp_path, device="cuda")
    assert next(run.model.parameters()).is_cuda and run.metrics["device"].startswith("cuda")
    assert run.metrics["precision"] == train.training_precision(torch.device("cuda")) and torch.isfinite(torch.tensor(run.history[0]["train_loss"]))
    again = train.train(cfg.with_(epochs=1, batch_size=32, n_val=16), runs_dir=tmp_path, device="cuda")
    assert all(torch.equal(a, b) for a, b in zip(run.model.state_dict().values(), again.model.state_dict().values()))


def delta_gap(a, b, config, shape, num_classes=10) -> dict:
    """Per state tensor: how far two trainings' changes from the common initialisation differ, relative to
    the change (0: the same training; about 1 or more: another one, e.g. other dropout masks)."""
    torch.manual_seed(config.seed)
    w0 = tasks.new_model(config, shape, num_classes).state_dict()
    out = {}
    for k, x in a.model.state_dict().items():
        y, z = b.model.state_dict()[k], w0[k].to(x.device)
        if not x.is_floating_point():
            assert torch.equal(x, y), k
            continue
        dx, dy = (x - z).float(), (y - z).float()
        out[k] = ((dx - dy).norm() / (dy.norm() + 1e-12)).item()
    return out


# 120 images in batches of 32: 3 full batches and a partial one per epoch. Small learning rates: on random
# images a large one turns float rounding differences (fused SGD, other kernels) into different trainings.
CASES = {
    "fcn, dropout, shifts": (TrainConfig(model="fcn", dataset="fashion_mnist", alpha=0.1, epochs=3, batch_size=32,
                                         lr=0.05, nesterov=True, schedule="linear", augment="shift2", n_val=16,
                                         model_args=(("hidden", (64, 64)), ("dropout", 0.5))), (1, 28, 28)),
    "resnet, batch-norm, channels-last": (TrainConfig(model="resnet", dataset="cifar10", alpha=0.1, epochs=3,
                                                      batch_size=32, lr=0.02, weight_decay=2e-4, augment="cifar",
                                                      n_val=16, schedule="piecewise", milestones=(0.5,),
                                                      model_args=(("depth", 8), ("bn_decay", 0.9))), (3, 32, 32)),
    "alexnet, no momentum, clipped": (TrainConfig(model="alexnet", dataset="cifar10", alpha=0.1, epochs=3,
                                                  batch_size=32, lr=0.02, momentum=0.0, weight_decay=0.004,
                                                  augment="alexnet", n_val=16, grad_clip=1.0), (3, 32, 32)),
}


def small_images(shape, n=120):
    g = torch.Generator().manual_seed(0)
    split = lambda k: data.Split(torch.randint(0, 256, (k, *shape), generator=g, dtype=torch.uint8),
                                 torch.randint(0, 10, (k,), generator=g))
    return data.Dataset("small", split(n), split(16), split(32), tuple("abcdefghij"))


@pytest.mark.parametrize("case", list(CASES))
def test_the_cuda_graph_trains_as_the_eager_loop(case, tmp_path, monkeypatch):
    cfg, shape = CASES[case]
    monkeypatch.setattr(runs, "load_data", lambda c: small_images(shape))
    monkeypatch.setenv("LSNB_CUDA_GRAPH", "1")
    graphed = train.train(cfg, runs_dir=tmp_path / "graph", device="cuda")
    monkeypatch.setenv("LSNB_CUDA_GRAPH", "0")
    eager = train.train(cfg, runs_dir=tmp_path / "eager", device="cuda")
    assert graphed.metrics["step"] == "cuda graph" and eager.metrics["step"] == "eager (LSNB_CUDA_GRAPH=0)"
    gaps = delta_gap(graphed, eager, cfg, shape)
    assert max(gaps.values()) < 0.05, sorted(gaps.items(), key=lambda kv: -kv[1])[:3]  # same data, masks, updates
    for g, e in zip(graphed.history, eager.history):
        assert g["train_loss"] == pytest.approx(e["train_loss"], rel=0.02)


def test_a_graphed_run_resumes(tmp_path, monkeypatch):
    cfg, shape = CASES["resnet, batch-norm, channels-last"]
    monkeypatch.setattr(runs, "load_data", lambda c: small_images(shape))
    full = train.train(cfg, runs_dir=tmp_path / "full", device="cuda")

    def stop(epoch, record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train.train(cfg, runs_dir=tmp_path / "cut", device="cuda", on_epoch_end=stop)
    resumed = train.train(cfg, runs_dir=tmp_path / "cut", device="cuda")
    assert resumed.metrics["step"] == "cuda graph" and max(delta_gap(resumed, full, cfg, shape).values()) < 0.05


@pytest.mark.parametrize("case", ["fcn, dropout, shifts", "resnet, batch-norm, channels-last"])
def test_batched_members_on_cuda(case, tmp_path, monkeypatch):
    cfg, shape = CASES[case]
    cfg = cfg.with_(lr=cfg.lr / 5, model_args=tuple((k, 0.0 if k == "dropout" else v) for k, v in cfg.model_args))
    monkeypatch.setattr(runs, "load_data", lambda c: small_images(shape))
    monkeypatch.setenv("LSNB_PRECISION", "fp32")  # a batched model trains in float32: compare with float32 alone
    cfgs = [cfg.with_(seed=1, alpha=0.0), cfg.with_(seed=2, alpha=0.1)]
    members = batched.train_group(cfgs, runs_dir=tmp_path / "b", device="cuda")
    for m, c in zip(members, cfgs):
        assert m.metrics["batched"] == 2 and m.metrics["step"] == "cuda graph" and m.metrics["precision"] == "fp32"
        alone = train.train(c, runs_dir=tmp_path / "a", device="cuda")
        assert max(delta_gap(m, alone, c, shape).values()) < 0.05
    monkeypatch.setenv("LSNB_PRECISION", "auto")
    tf32 = batched.train_group([c.with_(epochs=1) for c in cfgs], runs_dir=tmp_path / "t", device="cuda")
    for r in tf32:
        assert r.metrics["precision"] == "tf32" and torch.isfinite(torch.tensor(r.history[0]["train_loss"]))
