"""The penultimate-layer projection and the geometry numbers, on synthetic cases with known answers."""
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lsnb.data import images as data
from lsnb.methods import geometry
from lsnb.chapters import representations
from welch import assert_interval


def head_with(templates: torch.Tensor) -> nn.Linear:
    """A linear layer whose [w_k, b_k] rows are the given templates."""
    head = nn.Linear(templates.shape[1] - 1, templates.shape[0])
    with torch.no_grad():
        head.weight.copy_(templates[:, :-1])
        head.bias.copy_(templates[:, -1])
    return head


def test_basis_is_orthonormal_and_spans_the_template_differences():
    w = torch.randn(3, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = geometry.plane_basis(w)
    torch.testing.assert_close(b @ b.T, torch.eye(2, dtype=torch.float64))
    for d in (w[1] - w[0], w[2] - w[0], w[2] - w[1]):
        torch.testing.assert_close(b.T @ (b @ d), d)  # the difference lies in the basis' span


def test_equidistant_templates_project_to_an_equilateral_triangle():
    w = 3.0 * torch.eye(3, 6, dtype=torch.float64) + torch.tensor([0.5, -1, 2, 0, 0, 1], dtype=torch.float64)
    p = geometry.project(w, geometry.plane_basis(w))
    sides = [torch.dist(p[i], p[j]).item() for i, j in ((0, 1), (1, 2), (0, 2))]
    assert sides == pytest.approx([3 * math.sqrt(2)] * 3)


def test_collinear_templates_are_refused():
    w = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="collinear"):
        geometry.plane_basis(w)


def test_logit_is_minus_half_squared_distance_up_to_class_constants():
    g = torch.Generator().manual_seed(1)
    head = nn.Linear(5, 4)
    x = torch.randn(10, 5, generator=g)
    xa, w = geometry.with_bias_coordinate(x), geometry.templates(head)
    dist2 = torch.cdist(xa, w).pow(2)
    rebuilt = -dist2 / 2 + xa.pow(2).sum(1, keepdim=True) / 2 + w.pow(2).sum(1) / 2
    torch.testing.assert_close(rebuilt, head(x).detach(), atol=1e-5, rtol=1e-5)


def test_project_classes_uses_the_bias_and_keeps_only_the_chosen_classes():
    w = torch.tensor([[2.0, 0, 0, 1], [0, 2, 0, 1], [0, 0, 2, 1], [1, 1, 1, 5]])
    head = head_with(w)
    feats = torch.tensor([[2.0, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 1]])
    labels = torch.tensor([0, 1, 2, 3])
    p = geometry.project_classes(feats, labels, head, (0, 1, 2))
    assert p.points.shape == (3, 2) and p.labels.tolist() == [0, 1, 2]
    # each example sits exactly on its template ([x, 1] equals [w_k, b_k])
    torch.testing.assert_close(p.points, p.templates)
    with pytest.raises(ValueError, match="three different classes"):
        geometry.project_classes(feats, labels, head, (0, 0, 1))


def test_nc1_ratio_known_values():
    means = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    collapsed = means.repeat_interleave(5, 0)
    labels = torch.tensor([0] * 5 + [1] * 5)
    assert geometry.nc1_ratio(collapsed, labels) == pytest.approx(0.0)
    offsets = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [0, 0]])
    spread = collapsed + offsets.repeat(2, 1)
    # within: mean squared offset 4/5; between: each mean is 2 from the centre -> 4
    assert geometry.nc1_ratio(spread, labels) == pytest.approx((4 / 5) / 4)


def test_wrong_template_spread_is_zero_for_equidistant_templates():
    w = torch.cat([5 * torch.eye(4), torch.zeros(4, 1)], 1)  # four templates, pairwise equidistant
    head = head_with(w)
    feats = 5 * torch.eye(4)[[0, 1, 2, 3, 0]]
    labels = torch.tensor([0, 1, 2, 3, 0])
    assert geometry.wrong_template_spread(feats, labels, head) == pytest.approx(0.0, abs=1e-9)
    skewed = head_with(torch.cat([torch.diag(torch.tensor([5.0, 1, 9, 3])), torch.zeros(4, 1)], 1))
    assert geometry.wrong_template_spread(feats, labels, skewed) > 0.1


def test_geometry_numbers_shrink_with_tighter_clusters():
    g = torch.Generator().manual_seed(0)
    w = torch.cat([4 * torch.eye(3, 5), torch.zeros(3, 1)], 1)
    head = head_with(w)
    labels = torch.arange(3).repeat_interleave(50)
    centres = w[labels, :-1]
    wide = geometry.geometry_numbers(centres + torch.randn(150, 5, generator=g), labels, head, (0, 1, 2))
    tight = geometry.geometry_numbers(centres + 0.1 * torch.randn(150, 5, generator=g), labels, head, (0, 1, 2))
    assert tight["nc1"] < wide["nc1"] / 10
    assert tight["plane_nc1"] < wide["plane_nc1"] / 10                 # the same, in the plane the figure shows
    assert set(tight) == {"plane_nc1", "nc1", "wrong_template_spread", "projection_scale"}


# ----------------------------------------------------------------------------- the networks' side

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def fake_dataset(name="fashion_mnist", classes=FASHION, n=60, dim=6, seed=0):
    """A dataset whose "images" are already the penultimate activations (see ``features_are_inputs``)."""
    g = torch.Generator().manual_seed(seed)
    split = lambda: data.Split(torch.randn(n, dim, generator=g), torch.arange(n) % len(classes))
    return data.Dataset(name, split(), split(), split(), classes)


@pytest.fixture
def features_are_inputs(monkeypatch):
    """geometry's predict returns each example's input as its activations; load_data a fixed fake dataset."""
    ds = fake_dataset()
    monkeypatch.setattr(representations, "predict", lambda model, split, augment, with_features: (None, split.x.clone()))
    monkeypatch.setattr(representations, "load_data", lambda config: ds)
    return ds


def network_runs(alphas=(0.0, 0.1), seeds=(0, 1), dim=6, seed=0, root=None):
    """Fake finished runs; ``root``: a folder for their run folders (where the derived numbers go)."""
    torch.manual_seed(seed)
    return [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s, augment="none"),
                            model=SimpleNamespace(head=nn.Linear(dim, len(FASHION))),
                            path=None if root is None else root / f"net{seed}_a{a:g}_s{s}")
            for a in alphas for s in seeds]


def test_class_triples_are_the_papers_or_the_first_three():
    ds = fake_dataset()
    assert representations.class_triples(ds) == [(0, 1, 8)]                        # T-shirt/top, Trouser, Bag
    assert representations.class_triples(ds, with_similar=True) == [(0, 1, 8), (6, 0, 7)]  # Shirt, T-shirt/top, Sneaker
    digits = fake_dataset("mnist", tuple(str(d) for d in range(10)))
    assert representations.class_triples(digits, with_similar=True) == [(0, 1, 2)]


def test_penultimate_takes_the_first_n_examples(features_are_inputs):
    split = features_are_inputs.train
    features, labels = representations.penultimate(network_runs()[0], split, n=7)
    torch.testing.assert_close(features, split.x[:7])
    assert labels.tolist() == split.y[:7].tolist()
    assert len(representations.penultimate(network_runs()[0], split, n=10_000)[1]) == len(split)


def test_figure1_rows_project_the_seed_runs_per_alpha_and_split(features_are_inputs, tmp_path):
    runs = {"A": network_runs(seed=1, root=tmp_path), "B": network_runs(seed=2, root=tmp_path)}
    rows = representations.figure1_rows(runs, (0.0, 0.1), seed=1, n=40)
    assert [r.title for r in rows] == ["A\nfashion_mnist", "B\nfashion_mnist", "B\nfashion_mnist"]
    assert [r.class_names for r in rows] == [("T-shirt/top", "Trouser", "Bag")] * 2 + [("Shirt", "T-shirt/top", "Sneaker")]
    assert rows[0].titles == ("train, alpha=0", "validation, alpha=0", "train, alpha=0.1", "validation, alpha=0.1")
    ds = features_are_inputs
    seed1_ls = next(r for r in runs["A"] if r.config.alpha == 0.1 and r.config.seed == 1)
    want = geometry.project_classes(ds.val.x[:40], ds.val.y[:40], seed1_ls.model.head, (0, 1, 8))
    torch.testing.assert_close(rows[0].panels[3].points, want.points)
    torch.testing.assert_close(rows[0].panels[3].templates, want.templates)


def test_geometry_rows_measure_every_run_on_train_and_validation(features_are_inputs, tmp_path):
    runs = {"A": network_runs(alphas=(0.0, 0.05, 0.1), seeds=(0, 1), root=tmp_path)}
    rows = representations.geometry_rows(runs, n=50)
    assert [(r["model"], r["alpha"], r["seed"], r["split"]) for r in rows] == [
        ("A", a, seed, s) for a in (0.0, 0.05, 0.1) for seed in (0, 1) for s in ("train", "validation")]
    ds, run = features_are_inputs, runs["A"][3]
    assert (run.config.alpha, run.config.seed) == (0.05, 1)
    assert rows[7] == {"model": "A", "alpha": 0.05, "seed": 1, "split": "validation",
                       **geometry.geometry_numbers(ds.val.x[:50], ds.val.y[:50], run.model.head, (0, 1, 8))}


def test_a_warm_rebuild_reads_the_projections_and_numbers_from_the_run_folders(features_are_inputs, tmp_path,
                                                                             monkeypatch):
    runs = {"A": network_runs(seed=1, root=tmp_path)}
    rows, numbers = representations.figure1_rows(runs, (0.0, 0.1), seed=1, n=40), representations.geometry_rows(runs, n=40)
    assert (runs["A"][0].path / "geometry").is_dir()
    monkeypatch.setattr(representations, "penultimate", lambda *a, **k: pytest.fail("recomputed"))
    again = representations.figure1_rows(runs, (0.0, 0.1), seed=1, n=40)
    for old, new in zip(rows[0].panels, again[0].panels):
        torch.testing.assert_close(new.points, old.points)
        assert new.labels.tolist() == old.labels.tolist() and new.classes == old.classes
    assert representations.geometry_rows(runs, n=40) == numbers
    with pytest.raises(pytest.fail.Exception, match="recomputed"):   # other examples: measured afresh
        representations.geometry_rows(runs, n=41)


def geometry_table(seed_offsets=(0.0, 0.1)):
    """Rows of two networks; per seed, nc1 is ``base + offset`` at alpha 0, ``base / 2 + offset`` at 0.1 and
    ``3 base + offset`` at 0.2 (the train split adds 10); the spread is twice nc1; the scale is 1 on seed 0
    and 2 on seed 1 whatever alpha."""
    rows = [{"model": m, "alpha": a, "seed": seed, "split": s, "nc1": v + off, "plane_nc1": v + off,
             "wrong_template_spread": 2 * (v + off),
             "projection_scale": 1.0 + seed}
            for m, base in (("A", 1.0), ("B", 4.0)) for a, v in ((0.0, base), (0.1, base / 2), (0.2, base * 3))
            for seed, off in enumerate(seed_offsets) for s in ("train", "validation")]
    return [dict(r, nc1=r["nc1"] + (10 if r["split"] == "train" else 0)) for r in rows]


def test_alpha_ratios_divide_the_mean_at_alpha_by_the_mean_without():
    rows = geometry_table()
    ratios = representations.alpha_ratios(rows, 0.1)
    assert list(ratios) == ["plane_nc1", "nc1", "wrong_template_spread", "projection_scale"]
    # means over the seeds first: (0.5 + 0.6) / 2 over (1.0 + 1.1) / 2, not the mean of the seeds' ratios
    assert ratios["nc1"] == {"A": pytest.approx(0.55 / 1.05), "B": pytest.approx(2.05 / 4.05)}
    assert ratios["projection_scale"] == {"A": 1.0, "B": 1.0}
    assert representations.alpha_ratios(rows, 0.2)["wrong_template_spread"] == {"A": pytest.approx(3.05 / 1.05),
                                                                         "B": pytest.approx(12.05 / 4.05)}
    assert representations.alpha_ratios(rows, 0.1, split="train")["nc1"]["A"] == pytest.approx(10.55 / 11.05)


def test_alpha_comparisons_are_hard_minus_ls_over_seeds():
    rows = geometry_table((0.0, 0.1, -0.1))
    comparisons = representations.alpha_comparisons(rows, 0.1)
    assert list(comparisons) == ["plane_nc1", "nc1", "wrong_template_spread", "projection_scale"]
    assert list(comparisons["nc1"]) == ["A", "B"]

    def values(model, alpha, number, split="validation"):
        return [r[number] for r in rows if (r["model"], r["alpha"], r["split"]) == (model, alpha, split)]

    for number in geometry.GEOMETRY_NUMBERS:
        for m in ("A", "B"):
            assert_interval(comparisons[number][m], values(m, 0.0, number), values(m, 0.1, number))
    # label smoothing at 0.1 halves nc1 (> 0: the paper's reading); at 0.2 it triples it
    assert comparisons["nc1"]["A"].difference == pytest.approx(0.5)
    assert comparisons["nc1"]["B"].difference == pytest.approx(2.0)
    assert comparisons["nc1"]["A"].verdict() == "agrees"
    assert representations.alpha_comparisons(rows, 0.2)["nc1"]["A"].verdict() == "differs"
    # the scale does not move with alpha, only with the seed: within noise
    assert comparisons["projection_scale"]["A"].difference == 0.0
    assert comparisons["projection_scale"]["A"].verdict() == "within noise"
    train = representations.alpha_comparisons(rows, 0.1, split="train")["nc1"]["A"]
    assert_interval(train, values("A", 0.0, "nc1", "train"), values("A", 0.1, "nc1", "train"))


def test_projection_figure_draws_a_row_per_network_and_triple(features_are_inputs, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from lsnb.book import plots
    rows = representations.figure1_rows({"A": network_runs(root=tmp_path), "B": network_runs(seed=3, root=tmp_path)},
                                 (0.0, 0.1), seed=0, n=30)
    fig = plots.projection_figure(rows)
    assert len(fig.axes) == 4 * len(rows) == 12
    assert fig.axes[1].get_title() == "validation, α = 0" and fig.axes[6].get_title() == "train, α = 0.1"
    # each row is a sub-figure headed by its network, dataset and classes; a network's second triple says so
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == [
        "A on fashion_mnist: T-shirt/top, Trouser, Bag", "B on fashion_mnist: T-shirt/top, Trouser, Bag",
        "B on fashion_mnist, two similar classes and a third: Shirt, T-shirt/top, Sneaker"]
    plots.plt.close(fig)


def test_similar_pair_is_the_first_two_classes_of_the_similar_triple():
    assert representations.similar_pair(fake_dataset()) == (6, 0)                  # Shirt, T-shirt/top
    assert representations.similar_pair(fake_dataset("mnist", tuple(str(d) for d in range(10)))) is None


def test_geometry_table_names_the_numbers_in_words():
    table = representations.geometry_table(geometry_table())
    assert list(table[0]) == ["model", "alpha", "examples", *geometry.GEOMETRY_LABELS.values()]
    assert not any("_" in key for key in table[0])
    first = next(r for r in table if r["model"] == "A" and r["alpha"] == "0" and r["examples"] == "validation")
    assert first["tightness, full space (NC1)"] == "1.05"                    # (1.0 + 1.1) / 2, three digits
