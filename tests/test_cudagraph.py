"""The CUDA-graph training step (lsnb.engine.cudagraph) on a CPU: never taken there, and its control flow -- warm-up,
static buffers, one capture, replays with the schedule's learning rate in a tensor, the partial batch run
eagerly, checkpoints like the eager loop's -- exercised with a fake capture that replays the step eagerly.
The real capture is tested against the eager loop in test_cuda.py, where there is a GPU."""
import contextlib

import pytest
import torch

from conftest import same_weights, synthetic_dataset, weights
from lsnb.engine import cudagraph, runs, store, tasks, train
from lsnb.data import images as data
from lsnb.engine.config import TrainConfig


class FakeCapture:
    """Stands in for CUDA: warm-up steps run in place, a capture keeps the step (running nothing, as a real
    capture executes nothing), a replay runs it. Records what each replay saw."""

    def __init__(self, fail=False):
        self.warmups = self.captures = 0
        self.replays = []  # (learning rates in the graph's tensors, static inputs) at each replay
        self.steps = []    # every GraphedStep made
        self.fail = fail

    def backend(self, device):
        @contextlib.contextmanager
        def side_stream():
            self.warmups += 1
            yield

        def capture(fn):
            if self.fail:
                raise RuntimeError("operation not permitted when stream is capturing")
            self.captures += 1
            graphed = self.steps[-1]
            groups = graphed.optimizer.param_groups
            assert all(g["fused"] and g["lr"] is t for g, t in zip(groups, graphed.lr)), "capture: tensor lr, fused"

            def replay():
                assert all(isinstance(g["lr"], float) and not g["fused"] for g in groups), "flags restored"
                self.replays.append(([float(t) for t in graphed.lr],
                                     [None if s is None else s.clone() for s in graphed.static]))
                fn()
            return replay

        return cudagraph.Backend(side_stream, capture)


@pytest.fixture
def fake(monkeypatch):
    """The graph path forced on (on this CPU) with a :class:`FakeCapture`; fp32 so that the fused SGD kernel
    of the captured step and the eager loop's SGD can be compared closely."""
    monkeypatch.setenv("LSNB_PRECISION", "fp32")
    monkeypatch.setattr(runs, "load_data", lambda config: synthetic_dataset())
    cap = FakeCapture()

    class Recorded(cudagraph.GraphedStep):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            cap.steps.append(self)

    def use_graph(on: bool):
        monkeypatch.setattr(cudagraph, "unavailable", (lambda config, device, precision="bf16": None) if on else unavailable)
    unavailable = cudagraph.unavailable
    monkeypatch.setattr(cudagraph, "GraphedStep", Recorded)
    monkeypatch.setattr(cudagraph, "backend", cap.backend)
    use_graph(True)
    cap.use_graph = use_graph
    return cap


def base_config():
    """64 training images in batches of 24: two full batches and a partial one of 16 per epoch, 3 epochs."""
    return TrainConfig(model="fcn", dataset="fashion_mnist", alpha=0.1, seed=3, epochs=3, batch_size=24, lr=0.05,
                       nesterov=True, weight_decay=5e-4, schedule="linear", augment="shift2", n_val=16,
                       model_args=(("hidden", (32, 32)), ("dropout", 0.5)))


def expected_batches(cfg):
    """The batches the data pipeline gives a run of ``cfg``, by global step."""
    split, gen = synthetic_dataset().train, train.data_generator(cfg)
    out = []
    for _ in range(cfg.epochs):
        for idx in data.batch_order(split, cfg.batch_size, gen):
            out.append(data.batch(split, idx, cfg.augment, True, gen, "cpu"))
    return out


def close(a, b, loss_rel=1e-5, **tol):
    for x, y in zip(weights(a.model), weights(b.model)):
        torch.testing.assert_close(x, y, **tol)
    for h, k in zip(a.history, b.history):
        assert h["train_loss"] == pytest.approx(k["train_loss"], rel=loss_rel)


def test_the_graph_path_is_never_taken_on_a_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "load_data", lambda config: synthetic_dataset())

    def refuse(*args, **kwargs):
        raise AssertionError("the CPU loop built a GraphedStep")

    monkeypatch.setattr(cudagraph, "GraphedStep", refuse)
    monkeypatch.setattr(cudagraph, "backend", refuse)
    run = train.train(base_config(), runs_dir=tmp_path, device="cpu")
    assert "step" not in run.metrics, "a CPU run's metrics stay as they were"
    cfg, cuda = base_config(), torch.device("cuda")
    assert cudagraph.unavailable(cfg, torch.device("cpu")) == "not a CUDA device"
    assert cudagraph.unavailable(cfg, cuda) is None
    assert "shape" in cudagraph.unavailable(TrainConfig(model="transformer", dataset="en_de", augment="tokens"), cuda)
    assert "adam" in cudagraph.unavailable(cfg.with_(optimizer="adam"), cuda)
    monkeypatch.setenv("LSNB_CUDA_GRAPH", "0")
    assert cudagraph.unavailable(cfg, cuda) == "LSNB_CUDA_GRAPH=0"


def test_warm_up_capture_replay_and_the_partial_batch(fake, tmp_path):
    cfg = base_config()
    graphed = train.train(cfg, runs_dir=tmp_path / "graph", device="cpu")
    # 3 epochs x (2 full + 1 partial): full batches at steps 0, 1, 3, 4, 6, 7; partial ones at 2, 5, 8
    assert fake.warmups == cudagraph.WARMUP == 3 and fake.captures == 1, "warm-up on steps 0, 1, 3; capture on 4"
    assert len(fake.replays) == 3, "replays at steps 4 (the capture's batch), 6 and 7"
    (graph_step,) = fake.steps
    assert graph_step.calls == 6 and graph_step.replays == 3, "the partial batches never reached the graph"
    batches, total = expected_batches(cfg), 9
    for (lrs, (x, y, t)), step in zip(fake.replays, (4, 6, 7)):
        assert lrs == pytest.approx([cfg.lr * train.lr_factor(cfg, step, total)] * 2), "the schedule's lr"
        assert torch.equal(x, batches[step][0]) and torch.equal(y, batches[step][1]) and t is None
    assert graphed.metrics["step"] == "cuda graph"
    fake.use_graph(False)
    eager = train.train(cfg, runs_dir=tmp_path / "eager", device="cpu")
    close(graphed, eager, rtol=1e-5, atol=1e-6)  # fused SGD (graph) and plain SGD round differently


def test_graph_checkpoints_are_the_eager_loops_and_resume_either_way(fake, tmp_path):
    cfg = base_config()

    def stop_after_1(epoch, record):
        if epoch == 1:
            raise KeyboardInterrupt

    for first, then in ((True, False), (False, True)):
        where = tmp_path / f"{first}-{then}"
        fake.use_graph(first)
        with pytest.raises(KeyboardInterrupt):
            train.train(cfg, runs_dir=where, device="cpu", on_epoch_end=stop_after_1)
        state = store.load_checkpoint(where / cfg.digest() / "checkpoint.pt")
        for group in state["optimizer"]["param_groups"]:
            assert isinstance(group["lr"], float) and group["fused"] is None and group["foreach"] is None
        fake.use_graph(then)
        resumed = train.train(cfg, runs_dir=where, device="cpu")
        fake.use_graph(False)
        close(resumed, train.train(cfg, runs_dir=tmp_path / "eager", device="cpu"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("augment, mode", [("none", "precomputed"), ("shift2", "on the fly")])
def test_distillation_with_clipping_through_the_graph(fake, tmp_path, augment, mode):
    fake.use_graph(False)
    teacher = train.train(base_config(), runs_dir=tmp_path, device="cpu")
    train.train(base_config(), runs_dir=tmp_path / "graph", device="cpu")  # the same teacher beside the other student
    student = base_config().with_(teacher=teacher.config.digest(), augment=augment, alpha=0.0, distill_temperature=2.0,
                                  grad_clip=0.05, model_args=(("hidden", (8, 8)),))
    eager = train.train(student, runs_dir=tmp_path, device="cpu")
    fake.use_graph(True)
    graphed = train.train(student, runs_dir=tmp_path / "graph", device="cpu")
    assert graphed.metrics["teacher_targets"] == mode and graphed.metrics["step"] == "cuda graph"
    x, y, t = fake.replays[0][1]
    assert (t is not None) == (mode == "precomputed"), "precomputed teacher logits are a static input"
    close(graphed, eager, rtol=1e-5, atol=1e-6)


def test_batch_norm_and_bf16_autocast_through_the_graph(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("LSNB_PRECISION", "auto")
    cfg = base_config().with_(model="resnet", augment="cifar", lr=0.1, momentum=0.9,
                              model_args=(("depth", 8), ("bn_decay", 0.9)))
    graphed = train.train(cfg, runs_dir=tmp_path / "graph", device="cpu")
    assert graphed.metrics["step"] == "cuda graph" and fake.captures == 1
    fake.use_graph(False)
    eager = train.train(cfg, runs_dir=tmp_path / "eager", device="cpu")
    close(graphed, eager, loss_rel=1e-2, rtol=1e-2, atol=1e-3)  # bf16 autocast (where the CPU has it): looser


def test_a_failed_capture_warns_and_the_run_goes_on_eagerly(fake, tmp_path):
    fake.fail = True
    with pytest.warns(RuntimeWarning, match="capture of the training step failed.*continues eagerly"):
        run = train.train(base_config(), runs_dir=tmp_path, device="cpu")
    assert run.metrics["step"] == "eager (no capture)" and fake.steps[0].replays == 0
    fake.use_graph(False)
    eager = train.train(base_config(), runs_dir=tmp_path / "e", device="cpu")
    assert same_weights(weights(run.model), weights(eager.model)), "the warm-up steps were the eager loop's"


def test_graphed_step_refuses_what_it_cannot_capture():
    model = torch.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="only SGD"):
        cudagraph.GraphedStep(lambda: None, torch.optim.Adam(model.parameters()), None)
    with pytest.raises(ValueError, match="warmup=0"):
        cudagraph.GraphedStep(lambda: None, torch.optim.SGD(model.parameters(), lr=0.1), None, warmup=0)
    seen = []
    graphed = cudagraph.GraphedStep(lambda x: seen.append(x.clone()), torch.optim.SGD(model.parameters(), lr=0.1),
                                    FakeCapture().backend("cpu"), warmup=1)
    assert graphed(torch.ones(4, 3)) and not graphed(torch.ones(2, 3)), "another shape: the caller runs it eagerly"
    assert len(seen) == 1 and tasks.of(base_config()).name == "image"
