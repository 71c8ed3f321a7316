"""The distillation loss (temperature on both sides) and the smoothness index gamma (sec. 4)."""
import pytest
import torch
import torch.nn.functional as F

from lsnb.methods import distillation as distill, losses
from lsnb.engine import profiles, recipes, runs
from lsnb.engine import teachers
from lsnb.chapters import distillation
from lsnb.chapters import distillation_tables
from welch import assert_interval, z2_would_agree


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
    t = recipes.fcn_config("smoke")
    s = recipes.student_config("smoke", teacher=t)
    assert teachers.teacher_mode(t, s) == "precomputed"
    assert teachers.teacher_mode(t, s.with_(augment="shift2")) == "on the fly"
    assert teachers.teacher_mode(t, s.with_(augment="cifar")) == "clean view"
    with pytest.raises(ValueError, match="dataset: teacher 'fashion_mnist' vs student 'mnist'"):
        teachers.check_teacher(t, s.with_(dataset="mnist"))


def fake_dataset(cfg, n=16):
    """Random uint8 images of ``cfg.dataset``'s shape (the real data is not needed to check the wiring)."""
    from lsnb.data import images as data
    shape = {"fashion_mnist": (1, 28, 28), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}[cfg.dataset]
    g = torch.Generator().manual_seed(0)
    split = lambda: data.Split(torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
                               torch.randint(0, 10, (n,), generator=g))
    return data.Dataset(cfg.dataset, split(), split(), split(), tuple("abcdefghij"))


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_distillation_config_trains_two_steps(profile, tmp_path, monkeypatch):
    """Chapter 4's teachers and distilled students of each profile (paper: ResNet-56 -> AlexNet, MNIST FCNs)
    go through the real training loop for two steps on CPU, teacher targets included."""
    from lsnb.engine import train
    monkeypatch.setattr(runs, "load_data", fake_dataset)
    ds = distillation.distillation_setup(profile)
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


def test_hinton_summary_signs_the_papers_findings_positive():
    accuracy = {HINTON[0]: [0.990, 0.989, 0.991], HINTON[1]: [0.994, 0.993, 0.995], HINTON[2]: [0.988, 0.987, 0.989],
                HINTON[3]: [0.984, 0.983, 0.985], HINTON[4]: [0.980, 0.978, 0.982]}
    runs = {name: [fake_run(seed=s, accuracy=a) for s, a in enumerate(accs)] for name, accs in accuracy.items()}
    s = distillation_tables.hinton_summary(runs)
    errors = {name: [100 * (1 - a) for a in accs] for name, accs in accuracy.items()}
    assert list(s.errors) == HINTON and s.errors[HINTON[4]] == pytest.approx([2.0, 2.2, 1.8])
    # each comparison is signed so that > 0 is the paper's finding, with Welch's interval over the seeds
    assert s.teacher_gain.difference == pytest.approx(0.4)                  # the LS teacher errs less
    assert_interval(s.teacher_gain, errors[HINTON[0]], errors[HINTON[1]])
    assert s.student_loss.difference == pytest.approx(1.6 - 1.2)            # its student errs more
    assert_interval(s.student_loss, errors[HINTON[3]], errors[HINTON[2]])
    assert s.teacher_lead.difference == pytest.approx(2.0 - 1.0)            # the student alone errs more
    assert_interval(s.teacher_lead, errors[HINTON[4]], errors[HINTON[0]])
    assert [c.verdict() for c in (s.teacher_gain, s.student_loss, s.teacher_lead)] == ["agrees"] * 3
    assert not hasattr(s, "student_sd")
    # the other way round, each finding differs
    flipped = distillation_tables.HintonSummary(dict(zip(HINTON, [s.errors[HINTON[i]] for i in (1, 0, 3, 2)] + [[0.3, 0.4, 0.2]])))
    assert [c.verdict() for c in (flipped.teacher_gain, flipped.student_loss, flipped.teacher_lead)] == [
        "differs", "differs", "differs"]


def test_hinton_summary_on_two_seeds_is_within_noise_where_two_standard_errors_agreed():
    dropout, ls = [1.0, 0.8], [0.6, 0.4]
    assert z2_would_agree(dropout, ls)                                      # 0.4 > 2 x 0.14
    s = distillation_tables.HintonSummary(dict(zip(HINTON, [dropout, ls, [1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])))
    assert s.teacher_gain.difference == pytest.approx(0.4) and s.teacher_gain.df == pytest.approx(2.0)
    assert_interval(s.teacher_gain, dropout, ls)                            # t(2) = 4.30: +-0.61
    assert s.teacher_gain.verdict() == "within noise"


def test_teacher_gamma_is_the_smoothness_index_of_the_teachers_training_logits(monkeypatch):
    logits, _, labels = batch(n=64)
    seen = []
    monkeypatch.setattr(distillation_tables, "split_logits", lambda run, split: seen.append(split) or (logits, labels))
    assert distillation_tables.teacher_gamma(fake_run(), 3.0) == pytest.approx(distill.smoothness_index(logits, labels, 3.0))
    assert seen == ["train"]


SEEDS = (0, 1, 2)


def test_figure5_rows_put_every_curve_on_the_gamma_axis(monkeypatch):
    # each seed's students are distilled from the teacher of their own seed: its gamma differs by seed
    gammas = {**{(f"hard{s}", 1.0): 0.01 * (s + 1) for s in SEEDS},
              **{(f"hard{s}", 4.0): 0.3 + 0.01 * s for s in SEEDS},
              **{(f"ls{s}", 1.0): 0.12 + 0.01 * s for s in SEEDS}}
    monkeypatch.setattr(distillation_tables, "teacher_gamma", lambda teacher, t: gammas[(teacher.name, t)])
    teachers = {(a, s): fake_run(a, s, name=f"{'ls' if a else 'hard'}{s}") for a in (0.0, 0.1) for s in SEEDS}

    def points(knob_accuracies):
        return [(k, fake_run(seed=s, accuracy=acc + (s - 1) / 500)) for k, acc in knob_accuracies for s in SEEDS]

    curves = {"(1) teacher, LS alpha": [(a, t) for (a, _), t in teachers.items()],
              "(2) student, LS alpha": points([(0.0, 0.80), (0.1, 0.82)]),
              "(3) student of hard teacher at T": points([(1.0, 0.81), (4.0, 0.85)]),
              "(4) student of LS teacher, T = 1": points([(0.1, 0.79)])}
    rows = distillation_tables.figure5_rows(curves, teachers)
    assert [(r["curve"][:3], r["knob"], r["seed"], r["gamma"]) for r in rows] == [
        *[("(1)", a, s, a) for a in (0.0, 0.1) for s in SEEDS], *[("(2)", a, s, a) for a in (0.0, 0.1) for s in SEEDS],
        *[("(3)", T, s, gammas[(f"hard{s}", T)]) for T in (1.0, 4.0) for s in SEEDS],
        *[("(4)", 0.1, s, gammas[(f"ls{s}", 1.0)]) for s in SEEDS]]
    assert rows[-1]["accuracy"] == pytest.approx(79.2)
    s = distillation_tables.figure5_summary(rows)
    assert (s.best2["knob"], s.best3["knob"], s.best4["knob"]) == (0.1, 4.0, 0.1)
    assert s.best3["accuracy"] == pytest.approx(85.0) and s.best3["accuracies"] == pytest.approx([84.8, 85.0, 85.2])
    assert s.best3["gamma"] == pytest.approx(0.31)                         # the mean over the seeds' teachers
    assert s.distill_gain.difference == pytest.approx(3.0)                  # (3) above (2): the paper's finding
    assert_interval(s.distill_gain, s.best3["accuracies"], s.best2["accuracies"])
    assert s.ls_teacher_loss.difference == pytest.approx(3.0)               # (4) below (2): the paper's finding
    assert_interval(s.ls_teacher_loss, s.best2["accuracies"], s.best4["accuracies"])
    assert s.distill_gain.verdict() == s.ls_teacher_loss.verdict() == "agrees"
    assert distillation_tables.best_point(rows, "(5)") is None


def test_best_point_averages_over_seeds_and_takes_the_first_of_a_tie():
    per_knob = {0.0: [80.0, 80.0], 0.1: [84.0, 78.0], 0.2: [81.5, 81.5], 0.3: [81.0, 82.0]}
    rows = [{"curve": "(2) s", "knob": k, "seed": s, "gamma": k + s / 100, "accuracy": a}
            for k, accs in per_knob.items() for s, a in enumerate(accs)]
    best = distillation_tables.best_point(rows, "(2)")
    # knob 0.1 has the single best seed (84) but the lower mean (81); 0.3 ties 0.2 at 81.5 and comes later
    assert best == {"curve": "(2) s", "knob": 0.2, "gamma": pytest.approx(0.205), "accuracy": pytest.approx(81.5),
                    "accuracies": [81.5, 81.5]}


def test_figure5_summary_verdicts_need_the_seeds_and_ls_teachers_that_help_differ():
    best2, best4 = {"accuracies": [80.0, 80.2, 79.8]}, {"accuracies": [83.0, 83.2, 82.8]}
    noisy3 = {"accuracies": [80.5, 81.0, 80.0]}                             # +0.5, but t-interval about +-1
    s = distillation_tables.Figure5Summary(best2, noisy3, best4)
    assert s.distill_gain.difference == pytest.approx(0.5) and s.distill_gain.verdict() == "within noise"
    assert s.ls_teacher_loss.difference == pytest.approx(-3.0) and s.ls_teacher_loss.verdict() == "differs"
    assert distillation_tables.Figure5Summary(best2, noisy3, None).ls_teacher_loss is None
    worse3 = distillation_tables.Figure5Summary(best2, {"accuracies": [78.0, 78.2, 77.8]}, None)
    assert worse3.distill_gain.verdict() == "differs"


def followup_rows(table):
    return [{"teacher alpha": a, "T": T, "seed": s, "student accuracy (%)": acc}
            for T, hard, ls in table for a, accs in ((0.0, hard), (0.1, ls)) for s, acc in enumerate(accs)]


def test_followup_summary_compares_the_ls_teachers_student_per_temperature():
    table = [(1.0, (70.0, 70.2, 69.8), (71.0, 71.2, 70.8)),       # LS teacher's student better at T = 1
             (2.0, (70.0, 70.2, 69.8), (68.0, 68.2, 67.8)),       # worse at T = 2
             (3.0, (70.0, 70.4, 69.6), (70.1, 70.3, 69.9))]       # the same at T = 3, within noise
    s = distillation_tables.followup_summary(followup_rows(table), (0.0, 0.1), (1.0, 2.0, 3.0))
    assert list(s.gaps) == [1.0, 2.0, 3.0] and s.gaps[2.0].difference == pytest.approx(-2.0)
    for T, hard, ls in table:
        assert_interval(s.gaps[T], ls, hard)                        # LS teacher's student - hard teacher's
    assert s.first[0] == 1.0 and [T for T, _ in s.later] == [2.0, 3.0]
    assert s.helps_first == "agrees"
    # "hurts at every later T": T = 2 agrees, T = 3 straddles 0 (a wrongly negated interval would agree)
    assert s.gaps[3.0].low < 0 < s.gaps[3.0].high
    assert s.hurts(2.0).verdict() == "agrees" and s.hurts(3.0).verdict() == "within noise"
    hurts = distillation_tables.followup_summary(followup_rows(table[:2] + [(3.0, (70.0, 70.2, 69.8), (69.0, 69.2, 68.8))]),
                                     (0.0, 0.1), (1.0, 2.0, 3.0))
    assert hurts.hurts(3.0).verdict() == "agrees"
    helps = distillation_tables.followup_summary(followup_rows(table[:2] + [(3.0, (70.0, 70.2, 69.8), (71.0, 71.2, 70.8))]),
                                     (0.0, 0.1), (1.0, 2.0, 3.0))
    assert helps.hurts(3.0).verdict() == "differs"
    worse_first = distillation_tables.followup_summary(followup_rows([(1.0, table[0][2], table[0][1])]), (0.0, 0.1), (1.0,))
    assert worse_first.helps_first == "differs"


def test_followup_on_two_seeds_is_within_noise_where_two_standard_errors_agreed():
    hard, ls = (70.0, 70.4), (69.2, 69.6)
    assert z2_would_agree(hard, ls)                                 # 0.8 > 2 x 0.28
    s = distillation_tables.followup_summary(followup_rows([(1.0, (70.0, 70.2), (71.0, 71.2)), (2.0, hard, ls)]),
                                 (0.0, 0.1), (1.0, 2.0))
    assert s.gaps[2.0].difference == pytest.approx(-0.8)
    assert s.hurts(2.0).verdict() == "within noise"                 # t(2): +-1.22


def test_a_student_may_learn_from_a_teacher_that_saw_more_images_but_not_fewer():
    from lsnb.engine import profiles, recipes
    teacher = recipes.fcn_config("cpu").with_(n_train=10000)
    teachers.check_teacher(teacher, teacher.with_(n_train=2000))          # the first 2,000 are among the 10,000
    teachers.check_teacher(teacher.with_(n_train=None), teacher.with_(n_train=2000))
    with pytest.raises(ValueError, match="n_train: teacher 10000 vs student 20000"):
        teachers.check_teacher(teacher, teacher.with_(n_train=20000))
    with pytest.raises(ValueError, match="n_train: teacher 10000 vs student None"):
        teachers.check_teacher(teacher, teacher.with_(n_train=None))
    with pytest.raises(ValueError, match="n_val"):
        teachers.check_teacher(teacher, teacher.with_(n_val=100))


def test_figure5_summary_measures_the_teachers_lead_over_the_student_alone():
    rows = [{"curve": c, "knob": 0.0, "seed": s, "gamma": 0.0, "accuracy": a}
            for c, accs in (("(1) teacher, LS alpha", [80.0, 80.5, 79.5]), ("(2) student, LS alpha", [84.0, 84.2, 83.8]))
            for s, a in enumerate(accs)]
    rows += [{"curve": "(3) student of hard teacher at T", "knob": 1.0, "seed": s, "gamma": 0.1, "accuracy": 78.0 + s}
             for s in range(3)]
    s = distillation_tables.figure5_summary(rows)
    assert s.teacher_lead.difference == pytest.approx(80.0 - 84.0) and s.teacher_lead.verdict() == "differs"


def test_hinton_rows_give_each_networks_training_and_its_error_over_seeds():
    from types import SimpleNamespace

    def run(seed, accuracy, teacher=None, **cfg):
        config = SimpleNamespace(seed=seed, n_train=cfg.get("n_train"), epochs=cfg.get("epochs", 30),
                                 model_kwargs={"hidden": cfg.get("hidden", (1200, 1200)), "dropout": cfg.get("dropout", 0.5)},
                                 augment=cfg.get("augment", "shift2"), alpha=cfg.get("alpha", 0.0), teacher=teacher,
                                 distill_temperature=cfg.get("T", 1.0))
        return SimpleNamespace(config=config, metrics={"test_accuracy": accuracy})
    runs = {"teacher": [run(0, 0.98), run(1, 0.96, n_train=10000)],
            "student": [run(s, 0.9, teacher="abc", hidden=(800, 800), dropout=0.0, augment="none", T=20.0,
                            n_train=2000, epochs=40) for s in (0, 1, 2)]}
    rows = distillation_tables.hinton_rows(runs)
    assert rows[0] == {"network": "teacher", "hidden": "1200-1200", "images": "all", "epochs": 30,
                       "regularisation": "dropout 0.5, ±2 px shifts", "distilled at T": "-",
                       "test error (%)": "3.00 ± 1.41", "seeds": 2}          # the first seed's training, sd n - 1
    assert rows[1]["images"] == 2000 and rows[1]["distilled at T"] == "20" and rows[1]["epochs"] == 40
    assert rows[1]["regularisation"] == "none"
    ls_teacher = distillation_tables.hinton_rows({"LS": [run(0, 0.9, dropout=0.0, alpha=0.1)]})[0]
    assert ls_teacher["regularisation"] == "LS 0.1, ±2 px shifts"
    assert rows[1]["test error (%)"] == "10.00 ± 0.00" and rows[1]["seeds"] == 3


def test_figure5_table_groups_the_seeds_of_each_curve_and_knob():
    rows = [{"curve": c, "knob": k, "seed": s, "gamma": g + 0.01 * s, "accuracy": a + s}
            for c, k, g, a in (("(1) teacher", 0.0, 0.0, 80.0), ("(1) teacher", 0.1, 0.1, 81.0),
                               ("(3) student", 2.0, 0.05, 70.0)) for s in (0, 1, 2)]
    table = distillation_tables.figure5_table(rows)
    assert [(r["curve"], r["knob (alpha or T)"], r["seeds"]) for r in table] == [
        ("(1) teacher", "0", 3), ("(1) teacher", "0.1", 3), ("(3) student", "2", 3)]
    assert table[2]["gamma"] == "0.060 ± 0.010" and table[2]["test accuracy (%)"] == "71.00 ± 1.00"


def test_followup_table_reads_each_temperature_with_the_rule_helps_at_1_hurts_above():
    rows = [{"teacher alpha": a, "T": T, "seed": s, "student accuracy (%)": acc + 0.1 * s}
            for T, ls_minus_hard in ((1.0, 2.0), (4.0, -2.0), (8.0, 0.0))
            for a, acc in ((0.0, 80.0), (0.1, 80.0 + ls_minus_hard)) for s in (0, 1, 2)]
    summary = distillation_tables.followup_summary(rows, (0.0, 0.1), (1.0, 4.0, 8.0))
    table = distillation_tables.followup_table(rows, summary)
    assert [r["T"] for r in table] == ["1", "4", "8"]
    assert [r["their finding"] for r in table] == ["LS teacher helps", "LS teacher hurts", "LS teacher hurts"]
    assert "verdict" not in table[0]          # verdicts are the claims', whose premises this table does not know
    assert table[0]["student of the alpha = 0 teacher (%)"] == "80.10 ± 0.10"
    assert table[1]["student of the alpha = 0.1 teacher (%)"] == "78.10 ± 0.10"
    assert table[1]["LS teacher's - hard teacher's (points)"] == summary.gaps[4.0].text(2)


@pytest.mark.parametrize("teacher", ["../../../etc/pa", "ABCDEF0123456789", "0123456789abcdeg", "abc"])
def test_a_teacher_is_named_by_a_digest_and_nothing_else(teacher):
    from lsnb.engine import profiles, recipes
    with pytest.raises(ValueError, match="16 lowercase hexadecimal digits"):
        recipes.student_config("smoke").with_(teacher=teacher)


def test_a_teacher_folder_whose_config_is_not_its_digest_is_refused(tmp_path):
    from lsnb.engine import profiles, recipes, store
    teacher = recipes.fcn_config("smoke", epochs=1, hidden=8)
    other = teacher.with_(seed=7)
    folder = tmp_path / teacher.digest()
    folder.mkdir()
    store.atomic_write_json(folder / "config.json", other.to_dict())      # the wrong config under that name
    store.atomic_write_json(folder / "metrics.json", {})
    student = recipes.distilled(recipes.student_config("smoke"), teacher, 2.0)
    with pytest.raises(ValueError, match=f"digest is {other.digest()}, not {teacher.digest()}"):
        teachers.teacher_config(student, tmp_path)
