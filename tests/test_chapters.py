"""The runs each chapter trains (lsnb.chapters.common): which configs, in which grouping, and chapter 3b's parameters.

Training is replaced by a stand-in that returns a run whose test accuracy is read off its
config, so these tests check the experiment design, not the training loop.
"""
from types import SimpleNamespace

import pytest

from lsnb.chapters import common as chapters
from lsnb.engine import grid, profiles, recipes, train
from lsnb.chapters import representations
from lsnb.chapters import translation
from lsnb.chapters import distillation
from welch import assert_interval


def fake_run(config, accuracy=None):
    acc = accuracy if accuracy is not None else 0.5 + config.alpha + config.seed / 100
    return SimpleNamespace(config=config, metrics={"test_accuracy": acc})


@pytest.fixture
def trained(monkeypatch):
    """train.train / train.train_many answer fake runs and record every config they are given, in order."""
    seen = []

    def one(config, runs_dir=None):
        seen.append(config)
        return fake_run(config)

    monkeypatch.setattr(train, "train", one)
    monkeypatch.setattr(grid, "train_many", lambda configs, runs_dir=None: [one(c) for c in configs])
    return seen


def test_table2_runs_train_every_network_with_and_without_ls_and_sweep_the_cheap_ones(trained):
    setup = chapters.setup("smoke", alpha=0.2, seed=5, n_seeds=3)
    runs = representations.table2_runs(setup)
    assert list(runs.table2) == list(recipes.TABLE2_MODELS) == ["FCN", "AlexNet", "ResNet"]
    for name, rs in runs.table2.items():
        assert {(r.config.alpha, r.config.seed) for r in rs} == {(a, s) for a in (0.0, 0.2) for s in (5, 6, 7)}
        assert {r.config.model for r in rs} == {name.lower()}
    assert list(runs.sweep) == ["FCN", "AlexNet"]
    p = profiles.get_profile("smoke")
    assert runs.sweep_alphas == tuple(sorted(set(p.alphas) | {0.0, 0.2, 0.3}))
    for rs in runs.sweep.values():
        assert [r.config.alpha for r in rs] == list(runs.sweep_alphas) and {r.config.seed for r in rs} == {5}
    # the Table 2 runs are trained before the sweep (the sweep reuses the first seed's from the store)
    assert trained[0].model == "fcn" and trained[-1].model == "alexnet" and trained[-1].alpha == 0.3


def test_table2_runs_take_each_networks_own_dataset_unless_one_is_given(trained):
    p = profiles.get_profile("paper")
    own = representations.table2_runs(chapters.setup("paper", n_seeds=1))
    assert [own.table2[m][0].config.dataset for m in ("FCN", "AlexNet", "ResNet")] == [
        p.dataset, p.alexnet_dataset, p.resnet_dataset]
    given = representations.table2_runs(chapters.setup("paper", n_seeds=1, dataset="fashion_mnist"), "fashion_mnist")
    assert {r.config.dataset for rs in [*given.table2.values(), *given.sweep.values()] for r in rs} == {"fashion_mnist"}


def test_table2_accuracies_comparison_table_and_first_seed(trained):
    runs = representations.table2_runs(chapters.setup("smoke", alpha=0.1, seed=0, n_seeds=2))
    assert runs.accuracies("FCN") == {0.0: pytest.approx([50.0, 51.0]), 0.1: pytest.approx([60.0, 61.0])}
    c = runs.comparison("FCN")
    assert c.hard == pytest.approx((50.0, 51.0)) and c.ls == pytest.approx((60.0, 61.0))
    assert c.comparison.difference == pytest.approx(10.0)                     # LS - hard
    assert_interval(c.comparison, [60.0, 61.0], [50.0, 51.0])
    assert c.comparison.verdict() == "agrees"
    rows = runs.table()
    assert len(rows) == 6 and rows[1] == {"model": "FCN", "dataset": "fashion_mnist", "alpha": 0.1,
                                          "test accuracy (%)": "60.50 ± 0.71", "seeds": 2}
    first = runs.first_seed("ResNet", 0.1)
    assert (first.config.alpha, first.config.seed, first.config.model) == (0.1, 0, "resnet")


def test_translation_setup_defaults_to_the_profiles_corpus_and_grid():
    setup, grid, configs = translation.translation_setup("smoke", alpha=0.2, seed=3, n_seeds=2)
    t = profiles.get_profile("smoke").translation
    assert setup.dataset == t.dataset and grid == list(t.temperatures)
    assert list(configs) == [0.0, 0.2]
    assert [(c.alpha, c.seed, c.model) for c in configs[0.2]] == [(0.2, 3, "transformer"), (0.2, 4, "transformer")]


@pytest.mark.parametrize("kwargs, message", [
    ({"temperatures": [0.5, 2.0]}, r"temperatures=\[0.5, 2.0\] is not allowed: .* positive numbers that includes 1.0"),
    ({"temperatures": [-1.0, 1.0]}, "positive numbers"),
    ({"temperatures": "1.0"}, "temperatures='1.0' is not allowed"),          # a string is not a grid
    ({"temperatures": [1.0, "2"]}, "is not allowed"),
    ({"temperatures": 1.0}, "temperatures=1.0 is not allowed"),
    ({"beam": 0}, "beam=0 is not allowed: use a whole number >= 1"),
    ({"beam": 2.5}, "beam=2.5 is not allowed"),
    ({"length_penalty": "0.6"}, "length_penalty='0.6' is not allowed: use a number >= 0"),
    ({"length_penalty": -1}, "length_penalty=-1 is not allowed"),
    ({"n_bins": 1}, "n_bins=1 is not allowed"),
    ({"n_bins": True}, "n_bins=True is not allowed"),
    ({"dataset": "mnist"}, "dataset='mnist' is an image dataset, but the Transformer translates"),
    ({"alpha": 1.0}, "alpha=1.0 is not allowed"),
])
def test_translation_setup_refuses_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        translation.translation_setup("smoke", **kwargs)


def test_check_n_bins():
    assert chapters.check_n_bins(15) == 15
    for bad in (0, 1, 2.5, "15", None):
        with pytest.raises(ValueError, match=r"^n_bins=.* whole number >= 2"):
            chapters.check_n_bins(bad)


def test_hinton_runs_distil_each_teacher_into_its_own_student(trained):
    ds = distillation.distillation_setup("smoke")
    runs = distillation.hinton_runs(ds, 0.1, (0, 1))
    assert list(runs) == ["teacher (dropout)", "teacher (LS 0.1, no dropout)", "student of teacher (dropout)",
                          "student of teacher (LS 0.1, no dropout)", "student alone (labels)"]
    for teacher, student in (("teacher (dropout)", "student of teacher (dropout)"),
                             ("teacher (LS 0.1, no dropout)", "student of teacher (LS 0.1, no dropout)")):
        for t, s in zip(runs[teacher], runs[student]):
            assert s.config.teacher == t.config.digest() and s.config.seed == t.config.seed
            assert s.config.distill_temperature == ds.hinton_temperature
    assert [r.config.alpha for r in runs["teacher (LS 0.1, no dropout)"]] == [0.1, 0.1]
    assert all(r.config.teacher is None for r in runs["student alone (labels)"])
    # the teachers are trained before any student (a student needs its teacher's logits)
    assert [c.teacher is None for c in trained[:4]] == [True] * 4


def test_figure5_runs_are_the_papers_four_curves_on_every_seed(trained):
    ds = distillation.distillation_setup("smoke")
    seeds = [7, 8]
    teachers, curves = distillation.figure5_runs(ds, seeds)
    assert list(teachers) == [(a, s) for a in ds.alphas for s in seeds]
    assert all((t.config.alpha, t.config.seed, t.config.teacher) == (a, s, None) for (a, s), t in teachers.items())
    assert [(k, r.config.seed) for k, r in curves["(1) teacher, LS alpha"]] == [
        (a, s) for a in ds.alphas for s in seeds]
    assert [(k, r.config.alpha, r.config.seed, r.config.teacher) for k, r in curves["(2) student, LS alpha"]] == [
        (a, a, s, None) for a in ds.alphas for s in seeds]
    # each seed's student is distilled from the teacher of its own seed
    assert [(k, r.config.distill_temperature, r.config.seed, r.config.teacher)
            for k, r in curves["(3) student of hard teacher at T"]] == [
        (T, T, s, teachers[(0.0, s)].config.digest()) for T in ds.temperatures for s in seeds]
    assert [(k, r.config.distill_temperature, r.config.seed, r.config.teacher)
            for k, r in curves["(4) student of LS teacher, T = 1"]] == [
        (a, 1.0, s, teachers[(a, s)].config.digest()) for a in ds.alphas if a > 0 for s in seeds]
    assert teachers[(0.0, 7)].config.digest() != teachers[(0.0, 8)].config.digest()
    # the teachers are trained before any student (a student needs its teacher's logits)
    n = len(teachers)
    assert trained[:n] == [t.config for t in teachers.values()]
    assert len(trained) == n + sum(len(curves[c]) for c in list(curves)[1:])


def test_followup_rows_cover_the_grid_of_teacher_alpha_temperature_and_seed(trained):
    ds = distillation.distillation_setup("smoke")
    rows = distillation.followup_rows(ds, (0, 1, 2))
    seeds = (0, 1, 2)[:ds.followup_seeds]
    assert [(r["teacher alpha"], r["T"], r["seed"]) for r in rows] == [
        (a, T, s) for a in ds.followup_alphas for T in ds.followup_temperatures for s in seeds]
    students = [c for c in trained if c.teacher is not None]
    assert all(r["student accuracy (%)"] == pytest.approx(100 * (0.5 + r["seed"] / 100)) for r in rows)
    assert len(students) == len(rows)


@pytest.mark.parametrize("name, value, words", [
    ("LSNB_PRECISION", "half", "LSNB_PRECISION='half' is not a precision"),
    ("LSNB_PRECISION", "FP32", "LSNB_PRECISION='FP32' is not a precision"),
    ("LSNB_WORKERS", "abc", "LSNB_WORKERS='abc' is not allowed: use a whole number >= 1"),
    ("LSNB_WORKERS", "0", "LSNB_WORKERS='0' is not allowed")])
def test_a_bad_setting_fails_in_the_setup_cell_naming_it(monkeypatch, tmp_path, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        chapters.setup("smoke", runs_dir=str(tmp_path), results_dir=str(tmp_path))
    import torch
    with pytest.raises(ValueError, match=name):          # and wherever it is read, should setup be skipped
        (train.training_precision if name == "LSNB_PRECISION" else grid.default_workers)(torch.device("cpu"))


def test_good_settings_pass(monkeypatch):
    import torch
    monkeypatch.setenv("LSNB_PRECISION", "fp32")
    monkeypatch.setenv("LSNB_WORKERS", "3")
    assert train.training_precision(torch.device("cpu")) == "fp32" and grid.default_workers(torch.device("cpu")) == 3


def test_a_parameter_the_chapter_does_not_take_is_refused_with_the_closest_it_does():
    params = 'profile = "cpu"   # a comment\nalpha = 0.1\nn_seeds = None\nruns_dir = None\n'
    check = chapters.check_passed_parameters
    check(["", params, '# Parameters\nprofile = "smoke"\nalpha = 0.2\n', "import lsnb"])   # known names pass
    check(["", params, "x = 1"])                                   # no papermill cell: nothing to check
    check(["", params, '# Parameters\nn_seed = 1\n', "y = 2", '# Parameters\nn_seed = 1\n'])  # re-run alone
    with pytest.raises(ValueError, match="n_seed is not a parameter of this chapter: did you mean n_seeds"):
        check(["", params, '# Parameters\nprofile = "smoke"\nn_seed = 1\n'])
    with pytest.raises(ValueError, match="colour is not a parameter of this chapter: this chapter takes profile, "
                                         "alpha, n_seeds, runs_dir"):
        check(["", params, '# Parameters\ncolour = "red"\n'])


def test_a_bad_cifar10_copy_fails_at_setup_not_after_the_first_chapters(monkeypatch, tmp_path):
    monkeypatch.setenv("LSNB_CIFAR10", f"imagefolder:{tmp_path / 'nowhere'}")
    with pytest.raises(ValueError, match="LSNB_CIFAR10='imagefolder:.*nowhere' is not usable"):
        chapters.setup("gpu", runs_dir=str(tmp_path), results_dir=str(tmp_path))
    chapters.setup("smoke", runs_dir=str(tmp_path), results_dir=str(tmp_path))   # a profile that does not use it
    monkeypatch.setenv("LSNB_CIFAR10", "cifar-10")
    with pytest.raises(ValueError, match="is not usable"):
        chapters.setup("gpu", runs_dir=str(tmp_path), results_dir=str(tmp_path))
    for part in ("train", "test"):
        (tmp_path / "copy" / part).mkdir(parents=True)
    monkeypatch.setenv("LSNB_CIFAR10", f"imagefolder:{tmp_path / 'copy'}")
    chapters.setup("gpu", runs_dir=str(tmp_path), results_dir=str(tmp_path))
