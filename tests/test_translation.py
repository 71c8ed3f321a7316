"""The translation Transformer in the book's one training loop: token batches, padding, configs, run store."""
import pytest
import torch

from lsnb.data import images as data, text
from lsnb.models import decode
from lsnb.engine import profiles, recipes, runs, train
from lsnb.chapters import translation
from lsnb.data.text import BOS, EOS, PAD

V = 24


def token_split(n, seed, width=12):
    """Copy task with sentences of varied length, laid out as lsnb.data.text does (x: (N, 2, L), y: -100 on padding)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 2, width), PAD, dtype=torch.long)
    for i in range(n):
        words = torch.randint(4, V, (int(torch.randint(1, width - 2, (1,), generator=g)),), generator=g)
        x[i, 0, :len(words) + 1] = torch.cat([words, torch.tensor([EOS])])
        x[i, 1, :len(words) + 2] = torch.cat([torch.tensor([BOS]), words, torch.tensor([EOS])])
    y = x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, -100)
    return data.Split(x, y)


def token_dataset(config=None):
    return data.Dataset("en_de", token_split(256, 0), token_split(32, 1), token_split(32, 2),
                        tuple(f"t{i}" for i in range(V)))


def test_batch_order_buckets_sentences_and_covers_every_pair_once():
    split = token_split(300, 0)
    order = text.batch_order(split, 16, torch.Generator().manual_seed(0), chunk=5)
    assert len(order) == -(-300 // 16)
    assert sorted(torch.cat(order).tolist()) == list(range(300))
    lengths = (split.x != PAD).sum(-1).amax(-1)
    spread = sum(int(lengths[b].max() - lengths[b].min()) for b in order) / len(order)
    random = data.batch_order(split, 16, torch.Generator().manual_seed(0))
    assert spread < 0.5 * sum(int(lengths[b].max() - lengths[b].min()) for b in random) / len(random)
    again = text.batch_order(split, 16, torch.Generator().manual_seed(0), chunk=5)
    assert all(torch.equal(a, b) for a, b in zip(order, again))


def test_image_batches_are_the_plain_permutation():
    split = data.Split(torch.zeros(50, 1, 2, 2, dtype=torch.uint8), torch.zeros(50, dtype=torch.long))
    order = data.batch_order(split, 16, torch.Generator().manual_seed(3))
    assert torch.equal(torch.cat(order), torch.randperm(50, generator=torch.Generator().manual_seed(3)))


def test_token_batches_are_cut_to_the_longest_sentence():
    split = token_split(40, 0)
    x, y = text.batch(split, torch.arange(5), "tokens", True, None)
    longest = int((split.x[:5] != PAD).sum(-1).max())
    assert x.shape == (5, 2, longest) and y.shape == (5, longest - 1)
    assert torch.equal(y, split.y[:5, :longest - 1]) and (split.y[:5, longest - 1:] == -100).all()


@pytest.fixture
def copy_task(monkeypatch):
    monkeypatch.setattr(runs, "load_data", token_dataset)
    return recipes.transformer_config("smoke").with_(epochs=25, batch_size=32, lr=3e-3, n_train=None, n_val=32,
                                                      n_test=32)


def test_transformer_learns_in_the_training_loop_and_padding_never_counts(copy_task, tmp_path):
    run = train.train(copy_task, runs_dir=tmp_path, device="cpu")
    assert run.history[-1]["train_loss"] < run.history[0]["train_loss"]
    assert run.metrics["test_accuracy"] > 0.3  # copying is learnable; chance is 1/24
    ds = token_dataset()
    logits, labels = runs.token_logits(run.model, ds.test)
    assert len(labels) == int((ds.test.y != -100).sum())
    assert run.metrics["test_accuracy"] == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert not (run.path / "logits_test.pt").exists()  # per-token logits are too big to keep
    # extra padding columns change nothing
    wide = data.Split(torch.nn.functional.pad(ds.test.x, (0, 7)), torch.nn.functional.pad(ds.test.y, (0, 7),
                                                                                          value=-100))
    assert runs.evaluate(run.model, wide, run.config) == pytest.approx(runs.evaluate(run.model, ds.test, run.config))


def test_label_smoothing_run_differs_only_in_alpha(copy_task, tmp_path):
    hard = train.train(copy_task.with_(epochs=1), runs_dir=tmp_path, device="cpu")
    ls = train.train(copy_task.with_(epochs=1, alpha=0.1), runs_dir=tmp_path, device="cpu")
    assert hard.path != ls.path and ls.history[0]["train_loss"] > hard.history[0]["train_loss"]


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_transformer_config_takes_two_steps(profile, monkeypatch, tmp_path):
    """Each profile's Transformer (paper: d_model 512, 6+6 layers, Multi30k) through the real loop on CPU,
    on random token tensors of the corpus's layout (64 positions, 8000-token vocabulary)."""
    cfg = recipes.transformer_config(profile, alpha=0.1)
    g = torch.Generator().manual_seed(0)

    def fake(config):
        x = torch.randint(4, 8000, (16, 2, 64), generator=g)
        x[:, 1, 0] = BOS
        x[:, :, 20:] = PAD
        split = data.Split(x, x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, -100))
        return data.Dataset(config.dataset, split, split, split, tuple(str(i) for i in range(8000)))

    monkeypatch.setattr(runs, "load_data", fake)
    run = train.train(cfg.with_(epochs=1, batch_size=8), runs_dir=tmp_path, device="cpu")
    assert len(run.history) == 1 and run.metrics["test_nll"] > 0
    assert run.model.head.weight is run.model.embed.weight
    if profile == "paper":
        assert cfg.dataset == "multi30k" and cfg.model_kwargs["d_model"] == 512 and cfg.warmup > 0


def test_translations_refuse_a_run_trained_on_another_corpus(copy_task, tmp_path, monkeypatch):
    """en_de depends on the machine's gettext catalogs: a run records the corpus digest and decoding checks it."""
    def with_digest(digest):
        return lambda config=None: data.Dataset(**{**token_dataset().__dict__, "digest": digest})

    monkeypatch.setattr(runs, "load_data", with_digest("aaaa"))
    run = train.train(copy_task.with_(epochs=1), runs_dir=tmp_path, device="cpu")
    assert run.metrics["data_digest"] == "aaaa"
    monkeypatch.setattr(runs, "load_data", with_digest("bbbb"))
    with pytest.raises(ValueError, match="digest aaaa.*digest bbbb.*delete"):
        translation.run_translations(run, "test", beam=1)


def test_grid_locates_an_optimum_only_inside_a_fine_enough_grid():
    from lsnb.chapters.translation import FINE_GRID
    from lsnb.chapters.translation_summary import grid_locates
    assert grid_locates((0.6, 0.8, 1.0, 1.2, 1.4), 1.0, 0.2)
    assert not grid_locates((0.6, 0.8, 1.0, 1.2, 1.4), 1.4, 0.2)        # at the edge: the optimum may lie beyond
    assert not grid_locates((0.7, 1.0, 1.4), 1.0, 0.2)                  # steps of 0.3 and 0.4
    assert not grid_locates((0.7, 1.0, 1.4), 1.1, 0.2)                  # not a grid point
    assert FINE_GRID[0] == 0.5 and FINE_GRID[-1] == 2.0 and len(FINE_GRID) == 31
    assert grid_locates(FINE_GRID, 1.15, 0.05) and not grid_locates(FINE_GRID, 0.5, 0.05)
