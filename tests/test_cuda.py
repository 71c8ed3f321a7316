"""One training step of each model family on CUDA, through the one loop (skipped where there is no GPU)."""
import pytest
import torch

from lsnb import data, profiles, runs, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def image_dataset(config, shape):
    g = torch.Generator().manual_seed(0)
    split = lambda n: data.Split(torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
                                 torch.randint(0, 10, (n,), generator=g))
    return data.Dataset(config.dataset, split(32), split(16), split(16), tuple("abcdefghij"))


def token_dataset(config):
    from lsnb.text import BOS, PAD
    g = torch.Generator().manual_seed(0)
    x = torch.randint(4, 8000, (32, 2, 24), generator=g)
    x[:, 1, 0] = BOS
    x[:, :, 16:] = PAD
    split = data.Split(x, x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, -100))
    return data.Dataset(config.dataset, split, split, split, tuple(str(i) for i in range(8000)))


@pytest.mark.parametrize("family", ["fcn", "alexnet", "resnet", "transformer"])
def test_one_step_of_each_model_family_on_cuda(family, tmp_path, monkeypatch):
    cfg = {"fcn": profiles.fcn_config, "alexnet": profiles.alexnet_config, "resnet": profiles.resnet_config,
           "transformer": profiles.transformer_config}[family]("smoke", alpha=0.1)
    shape = (3, 32, 32) if family in ("alexnet", "resnet") else (1, 28, 28)
    monkeypatch.setattr(runs, "load_data",
                        token_dataset if family == "transformer" else lambda c: image_dataset(c, shape))
    run = train.train(cfg.with_(epochs=1, batch_size=32, n_val=16), runs_dir=tmp_path, device="cuda")
    assert next(run.model.parameters()).is_cuda and run.metrics["device"].startswith("cuda")
    assert run.metrics["precision"] == train.training_precision(torch.device("cuda")) and torch.isfinite(torch.tensor(run.history[0]["train_loss"]))
    again = train.train(cfg.with_(epochs=1, batch_size=32, n_val=16), runs_dir=tmp_path, device="cuda")
    assert all(torch.equal(a, b) for a, b in zip(run.model.state_dict().values(), again.model.state_dict().values()))
