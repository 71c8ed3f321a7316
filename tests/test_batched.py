"""Several configs trained as one batched model (lsnb.engine.batched), on a CPU: each member ends with the weights it
would have trained alone (same batch order, no dropout), is an ordinary run of the batched store, and a
killed group resumes."""
import pytest
import torch

from conftest import same_weights, synthetic_dataset, weights
from lsnb.engine import batched, grid, runs, store, train
from lsnb.engine.config import TrainConfig


@pytest.fixture
def data_calls(monkeypatch):
    """fp32 (the equivalence is checked to float rounding) on the synthetic dataset; counts data loads."""
    monkeypatch.setenv("LSNB_PRECISION", "fp32")
    calls = []
    monkeypatch.setattr(runs, "load_data", lambda config: calls.append(config) or synthetic_dataset())
    return calls


def fcn(seed=3, alpha=0.1, **changes):
    """64 images in batches of 24 (a partial batch each epoch), shifts, weight decay, linear schedule."""
    return TrainConfig(model="fcn", dataset="fashion_mnist", alpha=alpha, seed=seed, epochs=3, batch_size=24,
                       lr=0.05, nesterov=True, weight_decay=5e-4, schedule="linear", augment="shift2", n_val=16,
                       model_args=(("hidden", (32, 32)), ("dropout", 0.0))).with_(**changes)


def assert_alone(member, alone, atol=1e-6):
    for x, y in zip(weights(member.model), weights(alone.model)):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=atol)
    assert [h["train_loss"] for h in member.history] == pytest.approx([h["train_loss"] for h in alone.history],
                                                                      rel=1e-5)
    assert member.metrics["test_accuracy"] == alone.metrics["test_accuracy"]


@pytest.mark.parametrize("changes", [{}, {"grad_clip": 0.05}], ids=["plain", "clipped"])
def test_batched_members_end_as_if_trained_alone(data_calls, tmp_path, changes):
    cfgs = [fcn(seed=3, alpha=0.1, **changes), fcn(seed=5, alpha=0.0, **changes)]
    members = batched.train_group(cfgs, runs_dir=tmp_path / "b", device="cpu")
    for member, cfg in zip(members, cfgs):
        assert_alone(member, train.train(cfg, runs_dir=tmp_path / "a", device="cpu"))
        assert member.metrics["batched"] == 2 and member.metrics["precision"] == "fp32"
        files = {p.name for p in member.path.iterdir()}
        assert files >= {"config.json", "checkpoint.pt", "history.json", "metrics.json", "logits_test.pt"}
    n = len(data_calls)
    again = [train.train(c, runs_dir=tmp_path / "b", device="cpu") for c in cfgs]  # ordinary runs: loaded
    assert len(data_calls) == n
    assert all(same_weights(weights(a.model), weights(m.model)) for a, m in zip(again, members))


def test_batch_norm_members_keep_their_own_statistics(data_calls, tmp_path):
    cfgs = [fcn(seed=s, model="resnet", augment="cifar", lr=0.1, momentum=0.9, epochs=2,
                model_args=(("depth", 8), ("bn_decay", 0.9))) for s in (1, 2)]
    for member, cfg in zip(batched.train_group(cfgs, runs_dir=tmp_path / "b", device="cpu"), cfgs):
        assert_alone(member, train.train(cfg, runs_dir=tmp_path / "a", device="cpu"), atol=1e-5)


def test_a_killed_group_resumes_to_the_same_weights(data_calls, tmp_path, monkeypatch):
    monkeypatch.setenv("LSNB_PRECISION", "auto")  # and with dropout: the group's generator is restored too
    cfgs = [fcn(seed=s, model_args=(("hidden", (32, 32)), ("dropout", 0.5))) for s in (1, 2)]
    full = batched.train_group(cfgs, runs_dir=tmp_path / "full", device="cpu")

    def stop_after_1(epoch, records):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batched.train_group(cfgs, runs_dir=tmp_path / "cut", device="cpu", on_epoch_end=stop_after_1)
    assert all(store.load_checkpoint(tmp_path / "cut" / c.digest() / "checkpoint.pt")["epoch"] == 1 for c in cfgs)
    resumed = batched.train_group(cfgs, runs_dir=tmp_path / "cut", device="cpu")
    for a, b in zip(full, resumed):
        assert same_weights(weights(a.model), weights(b.model)), "bit-exact on a CPU"
        assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]


def test_members_stopped_at_different_epochs_finish_one_by_one(data_calls, tmp_path):
    cfgs = [fcn(seed=1), fcn(seed=2)]

    def stop_after_1(epoch, records):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batched.train_group(cfgs, runs_dir=tmp_path, device="cpu", on_epoch_end=stop_after_1)
    (tmp_path / cfgs[1].digest() / "checkpoint.pt").unlink()  # as if killed between the two checkpoint writes
    first, second = batched.train_group(cfgs, runs_dir=tmp_path, device="cpu")
    assert "batched" not in first.metrics and len(first.history) == 3, "resumed alone from its batched checkpoint"
    alone = train.train(cfgs[1], runs_dir=tmp_path / "a", device="cpu")
    assert same_weights(weights(second.model), weights(alone.model)), "trained alone from scratch"
    assert_alone(first, train.train(cfgs[0], runs_dir=tmp_path / "a", device="cpu"))


def test_units_group_what_differs_only_in_seed_and_alpha():
    a = [fcn(seed=s, alpha=al) for s in (0, 1) for al in (0.0, 0.1)]
    other = fcn(lr=0.2)
    student = fcn(teacher="0123456789abcdef")
    units = batched.units(a + [other, student], 3)
    assert units == [a[:3], a[3:], [other], [student]]
    assert batched.units(a, 0) == [[c] for c in a] == batched.units(a, 1)
    assert "teacher" in batched.unbatchable(student)
    with pytest.raises(ValueError, match="cannot join"):
        batched.train_group([a[0], other], runs_dir="unused", device="cpu")


def test_clipping_per_member_is_clip_grad_norm_of_each():
    g = torch.Generator().manual_seed(0)
    stacked = [torch.randn(3, 4, 5, generator=g, requires_grad=True),
               torch.randn(3, 7, generator=g, requires_grad=True)]
    for p in stacked:
        p.grad = torch.randn(p.shape, generator=g) * torch.tensor([0.01, 1.0, 10.0]).view(-1, *[1] * (p.ndim - 1))
    alone = [[torch.nn.Parameter(p[i].detach().clone()) for p in stacked] for i in range(3)]
    for i, ps in enumerate(alone):
        for q, p in zip(ps, stacked):
            q.grad = p.grad[i].clone()
        torch.nn.utils.clip_grad_norm_(ps, 0.5)
    batched.clip_per_member(stacked, 0.5)
    for i, ps in enumerate(alone):
        for q, p in zip(ps, stacked):
            torch.testing.assert_close(p.grad[i], q.grad)


def test_a_batched_grid_lives_in_its_own_store(data_calls, tmp_path):
    cfgs = [fcn(seed=s, alpha=a) for s in (1, 2) for a in (0.0, 0.1)]
    student = fcn(teacher=cfgs[0].digest(), augment="none", alpha=0.0, distill_temperature=2.0,
                  model_args=(("hidden", (8, 8)),))
    got = grid.train_many(cfgs + [student], runs_dir=tmp_path, device="cpu", workers=1, batched=2)
    assert all(r.path.parent == tmp_path / "batched" for r in got) and not list(tmp_path.glob("????????????????"))
    assert [r.metrics.get("batched") for r in got] == [2, 2, 2, 2, None], "the student alone, beside its teacher"
    normal = grid.train_many(cfgs + [student], runs_dir=tmp_path / "normal", device="cpu", workers=1)
    for b, n in zip(got, normal):
        assert_alone(b, n, atol=1e-5)
