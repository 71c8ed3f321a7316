"""The distillation loss (temperature on both sides) and the smoothness index gamma (sec. 4)."""
import pytest
import torch
import torch.nn.functional as F

from lsnb import chapters, distill, losses, profiles, runs


def batch(n=32, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 3, torch.randn(n, k, generator=g) * 3, torch.randint(0, k, (n,), generator=g)


@pytest.mark.parametrize("t", [1.0, 2.0, 8.0])
def test_soft_term_is_cross_entropy_between_both_tempered_distributions(t):
    z, zt, y = batch()
    got = distill.distillation_loss(z, y, zt, temperature=t)
    pt = F.softmax(zt / t, -1)
    # KL(p_t || p_s) plus the teacher's entropy, both at temperature T (torch as the oracle)
    kl = F.kl_div(F.log_softmax(z / t, -1), pt, reduction="batchmean")
    entropy = -(pt * pt.log()).sum(-1).mean()
    torch.testing.assert_close(got, kl + entropy)


def test_gradient_is_difference_of_tempered_probabilities_over_t():
    z, zt, y = batch()
    z.requires_grad_(True)
    t = 4.0
    distill.distillation_loss(z, y, zt, temperature=t).backward()
    want = (F.softmax(z.detach() / t, -1) - F.softmax(zt / t, -1)) / t / len(z)
    torch.testing.assert_close(z.grad, want)


def test_t2_scaling_and_beta_mixture():
    z, zt, y = batch()
    soft = distill.distillation_loss(z, y, zt, temperature=3.0)
    torch.testing.assert_close(distill.distillation_loss(z, y, zt, temperature=3.0, t2=True), 9 * soft)
    hard = losses.label_smoothing_loss(z, y, 0.1)
    mixed = distill.distillation_loss(z, y, zt, temperature=3.0, beta=0.25, alpha=0.1)
    torch.testing.assert_close(mixed, 0.75 * hard + 0.25 * soft)
    torch.testing.assert_close(distill.distillation_loss(z, y, zt, temperature=3.0, beta=0.0), F.cross_entropy(z, y))


def test_a_teacher_equal_to_the_student_gives_the_entropy_minimum():
    z, _, y = batch()
    zero_grad = z.clone().requires_grad_(True)
    distill.distillation_loss(zero_grad, y, z, temperature=2.0).backward()
    assert zero_grad.grad.abs().max() < 1e-6


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3])
def test_smoothness_index_of_label_smoothing_targets_is_alpha(alpha):
    y = torch.randint(0, 10, (50,))
    targets = losses.smooth_targets(y, 10, alpha)
    logits = torch.log(targets.clamp_min(1e-30))
    assert distill.smoothness_index(logits, y) == pytest.approx(alpha, abs=1e-6)


def test_smoothness_index_grows_with_temperature_and_is_one_for_uniform():
    z, _, y = batch()
    gammas = [distill.smoothness_index(z, y, t) for t in (0.5, 1, 2, 4, 8, 100)]
    assert gammas == sorted(gammas) and gammas[-1] == pytest.approx(1.0, abs=0.01)
    assert distill.smoothness_index(torch.zeros(5, 10), torch.arange(5)) == pytest.approx(1.0)


def test_teacher_modes():
    t = profiles.fcn_config("smoke")
    s = profiles.student_config("smoke", teacher=t)
    assert distill.teacher_mode(t, s) == "precomputed"
    assert distill.teacher_mode(t, s.with_(augment="shift2")) == "on the fly"
    assert distill.teacher_mode(t, s.with_(augment="cifar")) == "clean view"
    with pytest.raises(ValueError, match="dataset: teacher 'fashion_mnist' vs student 'mnist'"):
        distill.check_teacher(t, s.with_(dataset="mnist"))


def fake_dataset(cfg, n=16):
    """Random uint8 images of ``cfg.dataset``'s shape (the real data is not needed to check the wiring)."""
    from lsnb import data
    shape = {"fashion_mnist": (1, 28, 28), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}[cfg.dataset]
    g = torch.Generator().manual_seed(0)
    split = lambda: data.Split(torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
                               torch.randint(0, 10, (n,), generator=g))
    return data.Dataset(cfg.dataset, split(), split(), split(), tuple("abcdefghij"))


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_distillation_config_trains_two_steps(profile, tmp_path, monkeypatch):
    """Chapter 4's teachers and distilled students of each profile (paper: ResNet-56 -> AlexNet, MNIST FCNs)
    go through the real training loop for two steps on CPU, teacher targets included."""
    from lsnb import train
    monkeypatch.setattr(runs, "load_data", fake_dataset)
    ds = chapters.distillation_setup(profile)
    short = dict(epochs=1, batch_size=8)
    pairs = [(ds.hinton_teacher(alpha=0.0), ds.hinton_student), (ds.hinton_ls_teacher(alpha=0.1), ds.hinton_student),
             (ds.teacher(alpha=0.1).with_(snapshots=2), ds.student)]
    for teacher_cfg, student_of in pairs:
        teacher = train.train(teacher_cfg.with_(**short), runs_dir=tmp_path, device="cpu")
        # the students are built exactly as the chapter builds them
        student_cfg = student_of(teacher=teacher.config, temperature=3.0, seed=1).with_(**short)
        assert student_of(alpha=0.1).alpha == 0.1 and student_of(alpha=0.1).teacher is None
        student = train.train(student_cfg, runs_dir=tmp_path, device="cpu")
        assert len(student.history) == 1 and student.metrics["teacher_targets"] in ("precomputed", "clean view")
        assert student.config.distill_t2 and student.config.distill_beta == 1.0
        assert student.config.distill_temperature == 3.0 and student.config.alpha == 0.0
    assert [s for s, _, _ in runs.snapshots(teacher)] == [0, 1, 2]
    if profile == "paper":
        assert (teacher.config.model, student.config.model) == ("resnet", "alexnet")
        assert teacher.config.model_kwargs["depth"] == 56 and student.metrics["teacher_targets"] == "clean view"
        assert ds.hinton_teacher(alpha=0.0).dataset == "mnist" and ds.mi_examples == 600


# ----------------------------------------------------------------------------- chapter 4's experiments

def fake_run(alpha=0.0, seed=0, accuracy=0.9, **extra):
    from types import SimpleNamespace
    return SimpleNamespace(config=SimpleNamespace(alpha=alpha, seed=seed), metrics={"test_accuracy": accuracy},
                           **extra)


HINTON = ["teacher (dropout)", "teacher (LS 0.1, no dropout)", "student of teacher (dropout)",
          "student of teacher (LS 0.1, no dropout)", "student alone (labels)"]


def test_error_rows_and_hinton_summary_sign_the_papers_findings_positive():
    accuracy = {HINTON[0]: [0.990, 0.992], HINTON[1]: [0.994, 0.996], HINTON[2]: [0.991, 0.991],
                HINTON[3]: [0.985, 0.987], HINTON[4]: [0.980, 0.984]}
    runs = {name: [fake_run(seed=s, accuracy=a) for s, a in enumerate(accs)] for name, accs in accuracy.items()}
    rows = distill.error_rows(runs)
    assert rows[0] == {"network": HINTON[0], "seed": 0, "test error (%)": pytest.approx(1.0)}
    s = distill.hinton_summary(runs)
    assert list(s.errors) == HINTON and s.errors[HINTON[4]] == pytest.approx([2.0, 1.6])
    assert s.teacher_gain[0] == pytest.approx(0.4) and s.teacher_gain[0] > s.teacher_gain[1]  # LS teacher better
    assert s.student_loss[0] == pytest.approx(1.4 - 0.9)                                        # its student worse
    assert s.teacher_lead[0] == pytest.approx(1.8 - 0.9)             # the student alone errs more than the teacher
    assert s.student_sd == pytest.approx(0.4 / 2 ** 0.5)


def test_teacher_gamma_is_the_smoothness_index_of_the_teachers_training_logits(monkeypatch):
    logits, _, labels = batch(n=64)
    seen = []
    monkeypatch.setattr(distill, "split_logits", lambda run, split: seen.append(split) or (logits, labels))
    assert distill.teacher_gamma(fake_run(), 3.0) == pytest.approx(distill.smoothness_index(logits, labels, 3.0))
    assert seen == ["train"]


def test_figure5_rows_put_every_curve_on_the_gamma_axis(monkeypatch):
    gammas = {("hard", 1.0): 0.01, ("hard", 4.0): 0.3, ("ls", 1.0): 0.12}
    monkeypatch.setattr(distill, "teacher_gamma", lambda teacher, t: gammas[(teacher.name, t)])
    teachers = {0.0: fake_run(0.0, name="hard"), 0.1: fake_run(0.1, name="ls")}
    curves = {"(1) teacher, LS alpha": list(teachers.items()),
              "(2) student, LS alpha": [(0.0, fake_run(accuracy=0.80)), (0.1, fake_run(accuracy=0.82))],
              "(3) student of hard teacher at T": [(1.0, fake_run(accuracy=0.81)), (4.0, fake_run(accuracy=0.85))],
              "(4) student of LS teacher, T = 1": [(0.1, fake_run(accuracy=0.79))]}
    rows = distill.figure5_rows(curves, teachers)
    assert [(r["curve"][:3], r["knob"], r["gamma"]) for r in rows] == [
        ("(1)", 0.0, 0.0), ("(1)", 0.1, 0.1), ("(2)", 0.0, 0.0), ("(2)", 0.1, 0.1),
        ("(3)", 1.0, 0.01), ("(3)", 4.0, 0.3), ("(4)", 0.1, 0.12)]
    s = distill.figure5_summary(rows, spread=0.5)
    assert (s.best2["knob"], s.best3["knob"], s.best4["knob"]) == (0.1, 4.0, 0.1)
    assert s.distill_gain == pytest.approx((3.0, 2 * (0.5 ** 2 * 2) ** 0.5))      # one seed each: the given spread
    assert s.distill_verdict == "agrees" and s.ls_teachers_verdict == "agrees"    # (4) is below (2)
    assert distill.best_point(rows, "(5)") is None


def test_best_point_takes_the_first_of_a_tie_and_ls_teachers_that_help_differ():
    rows = [{"curve": "(2) s", "knob": k, "accuracy": a} for k, a in ((0.0, 80.0), (0.1, 81.0), (0.2, 81.0))]
    assert distill.best_point(rows, "(2)")["knob"] == 0.1
    better = distill.Figure5Summary({"accuracy": 80.0}, {"accuracy": 80.5}, {"accuracy": 83.0}, spread=0.5)
    assert better.distill_verdict == "within noise" and better.ls_teachers_verdict == "differs"
    assert distill.Figure5Summary({"accuracy": 80.0}, {"accuracy": 78.0}, None, 0.1).ls_teachers_verdict == "agrees"


def test_followup_summary_compares_the_ls_teachers_student_per_temperature():
    rows = [{"teacher alpha": a, "T": T, "seed": s, "student accuracy (%)": acc}
            for T, hard, ls in ((1.0, (70.0, 70.2), (71.0, 71.2)), (2.0, (70.0, 70.2), (68.0, 68.2)),
                                (3.0, (70.0, 70.4), (70.1, 70.3)))
            for a, accs in ((0.0, hard), (0.1, ls)) for s, acc in enumerate(accs)]
    s = distill.followup_summary(rows, (0.0, 0.1), (1.0, 2.0, 3.0))
    assert list(s.gaps) == [1.0, 2.0, 3.0] and s.gaps[2.0][0] == pytest.approx(-2.0)
    assert s.first[0] == 1.0 and [T for T, _ in s.later] == [2.0, 3.0]
    assert s.helps_first == "agrees" and s.hurts_later == ["agrees", "within noise"]
    assert s.later_verdict == "within noise"
    assert distill.FollowupSummary({1.0: (0.0, 1.0), 2.0: (-3.0, 1.0), 3.0: (-2.0, 1.0)}).later_verdict == "agrees"
    assert distill.FollowupSummary({1.0: (0.0, 1.0), 2.0: (-3.0, 1.0), 3.0: (2.0, 1.0)}).later_verdict == "differs"
