"""Chapter 2 (sec. 2 of the paper): the networks of Table 2 and what their penultimate layers show.

:func:`table2_runs` trains (or loads) the networks of the paper's Table 2 and their sweep over
alpha, which chapter 3 shares. The geometry of :mod:`lsnb.methods.geometry` applied to them:
:func:`figure1_rows` is the data of the paper's Figure 1, :func:`geometry_rows` its numbers for
every run of a sweep over alpha, and :func:`alpha_ratios` how much label smoothing changes each
of them; :func:`representation_claims` the chapter's rows of the scorecard.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..book.glue import pm
from ..book.results import Claim
from ..engine import grid
from ..engine.recipes import TABLE2_MODELS, configs
from ..engine.runs import derived, last_epoch_accuracy, load_data, predict
from ..methods.geometry import GEOMETRY_LABELS, GEOMETRY_NUMBERS, Projection, geometry_numbers, project_classes
from ..methods.metrics import SeedComparison, mean_and_spread
from ..methods.stats import compare
from .common import ChapterSetup
from .paper import ACCURACY_MARGIN, PAPER_TABLE2, parts_text, setting


@dataclass(frozen=True)
class Table2Runs:
    """The networks of the paper's Table 2 (sec. 2), trained with hard targets and with label smoothing.

    ``table2``: ``{model name: runs}`` with ``alphas`` = (0, the chapter's alpha) and every seed,
    for the models of :data:`lsnb.engine.recipes.TABLE2_MODELS`; ``sweep``: ``{model name: runs}``
    of the profile's ``sweep_models`` over ``sweep_alphas``, first seed only.
    """

    table2: dict
    sweep: dict
    alphas: tuple
    sweep_alphas: tuple
    seed: int
    memorising: bool = False         # trained without augmentation to memorise their subset (cpu, smoke)

    def first_seed(self, model: str, alpha: float):
        """The Table 2 run of ``model`` with ``alpha`` and the first seed."""
        return next(r for r in self.table2[model] if r.config.alpha == alpha and r.config.seed == self.seed)

    def accuracies(self, model: str) -> dict:
        """Test accuracy (%) of each seed of a Table 2 model: ``{alpha: [one number per seed]}``."""
        return {a: [100 * r.metrics["test_accuracy"] for r in self.table2[model] if r.config.alpha == a]
                for a in self.alphas}

    def comparison(self, model: str) -> SeedComparison:
        """Its test accuracy (%) without and with label smoothing, over seeds (Table 2's comparison)."""
        acc = self.accuracies(model)
        return SeedComparison(acc[self.alphas[0]], acc[self.alphas[-1]])

    def regime(self) -> list:
        """How each network was trained, and how far it fitted its training set: one row per network
        (the hard-target runs' training accuracy over their last epoch, mean ± sd over seeds)."""
        rows = []
        for name, rs in self.table2.items():
            c = rs[0].config
            depth = f"-{c.model_kwargs['depth']}" if "depth" in c.model_kwargs else ""
            momentum = f", momentum {c.momentum:g}" if c.momentum else ""
            rows.append({"model": name + depth, "dataset": c.dataset, "training images": c.n_train or "all",
                         "epochs": c.epochs, "augmentation": c.augment,
                         "optimiser": f"{c.optimizer.upper()}, batch {c.batch_size}, lr {c.lr:g}{momentum}",
                         "training accuracy, last epoch (%)": pm(self.train_accuracy(name), digits=2),
                         "runs": len(rs)})
        return rows

    def regime_accuracy(self) -> dict | None:
        """``{model: train_accuracy(model)}`` where the networks are trained to memorise their subset (the
        premise of sec. 3's claims is then that they did), None where they keep their recipe's augmentation
        (the paper's own setting, whose premise is the over-confidence the claims measure)."""
        return {m: self.train_accuracy(m) for m in self.table2} if self.memorising else None

    def train_accuracy(self, model: str) -> list:
        """The last-epoch training accuracy (%) of each hard-target run of ``model``, in seed order: how far
        it fitted its training set (sec. 3's regime)."""
        return last_epoch_accuracy(r for r in self.table2[model] if r.config.alpha == 0)

    def table(self) -> list:
        """The paper's Table 2: one row per model and alpha, test accuracy as mean ± sd over seeds."""
        rows = []
        for name, rs in self.table2.items():
            for a in self.alphas:
                accs = [100 * r.metrics["test_accuracy"] for r in rs if r.config.alpha == a]
                rows.append({"model": name, "dataset": rs[0].config.dataset, "alpha": a,
                             "test accuracy (%)": pm(accs, digits=2), "seeds": len(accs)})
        return rows


def table2_runs(setup: ChapterSetup, dataset: str | None = None, runs_dir=None) -> Table2Runs:
    """Train (or load from the run store) the runs of Table 2 and the sweep over alpha (chapters 2 and 3).

    ``dataset`` is the parameters cell's: None trains each network on its profile's
    dataset (:func:`lsnb.engine.recipes.alexnet_config` and :func:`~lsnb.engine.recipes.resnet_config`
    have their own), a name trains all of them on it. The sweep runs alpha over the
    profile's values, 0, the chapter's alpha and 0.3, one seed each.
    """
    profile, alphas = setup.profile.name, (0.0, setup.alpha)
    sweep_alphas = tuple(sorted(set(setup.profile.alphas) | {0.0, setup.alpha, 0.3}))
    table2 = {model: grid.train_many(configs(model, profile, dataset=dataset, alphas=alphas, seeds=setup.seeds,
                                              epochs=setup.epochs), runs_dir=runs_dir)
              for model in TABLE2_MODELS}
    sweep = {model: grid.train_many(configs(model, profile, dataset=dataset, alphas=sweep_alphas,
                                             seeds=setup.seeds[:1], epochs=setup.epochs), runs_dir=runs_dir)
             for model in setup.profile.sweep_models}
    return Table2Runs(table2, sweep, alphas, sweep_alphas, setup.seeds[0], not setup.profile.table2_augment)


# Figure 1's classes: three dissimilar ones per dataset (the paper's where the dataset is the paper's),
# and two similar classes with a third, the paper's poodles and tench.
DISSIMILAR = {"cifar10": ("airplane", "automobile", "bird"), "cifar100": ("beaver", "dolphin", "otter"),
              "fashion_mnist": ("T-shirt/top", "Trouser", "Bag")}
SIMILAR = {"fashion_mnist": ("Shirt", "T-shirt/top", "Sneaker"), "cifar10": ("cat", "dog", "ship"),
           "cifar100": ("maple_tree", "oak_tree", "rocket")}
N_EXAMPLES = 3000  # examples per split in the pictures and their numbers


def class_triples(dataset, with_similar: bool = False) -> list:
    """The class indices of Figure 1's rows for a dataset: its :data:`DISSIMILAR` triple (the first
    three classes where it has none) and, ``with_similar``, its :data:`SIMILAR` one where it has one."""
    names = [DISSIMILAR.get(dataset.name, dataset.classes[:3])]
    if with_similar and dataset.name in SIMILAR:
        names.append(SIMILAR[dataset.name])
    return [tuple(dataset.classes.index(c) for c in t) for t in names]


def similar_pair(dataset) -> tuple | None:
    """Two classes of a dataset that networks confuse (the first two of its :data:`SIMILAR` triple), as
    indices, or None where it has none (Figure 6's check of how the classes chosen move the estimate)."""
    if dataset.name not in SIMILAR:
        return None
    return tuple(dataset.classes.index(c) for c in SIMILAR[dataset.name][:2])


def similar_row(rows: list, networks: int) -> str:
    """Figure 1's row of two similar classes and a third (:func:`figure1_rows`, after one row per network), in
    words: "Shirt and T-shirt/top with Sneaker (FCN on fashion_mnist)"; the dataset decides which classes."""
    if len(rows) <= networks:
        return "none (lsnb knows no similar classes of the last network's dataset)"
    row = rows[-1]
    first, second, third = (c.replace("_", " ") for c in row.class_names)
    network, dataset = row.title.split("\n")
    return f"{first} and {second} with {third} ({network} on {dataset})"


def penultimate(run, split, n: int = N_EXAMPLES) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate-layer activations and labels of the first ``n`` examples of an image split
    (the model's test-time view of them)."""
    take = split.take(torch.arange(min(len(split), n)))
    _, features = predict(run.model, take, run.config.augment, with_features=True)
    return features, take.y


@dataclass(frozen=True)
class ProjectionRow:
    """One row of Figure 1: a network and three classes, one :class:`Projection` per alpha and split."""

    title: str            # the network and its dataset
    class_names: tuple    # the three classes
    panels: tuple         # Projection of the training, then validation examples, for each alpha
    titles: tuple         # "train, alpha=0", ...


def figure1_rows(runs: dict, alphas, seed: int, n: int = N_EXAMPLES) -> list:
    """The paper's Figure 1: per network (``{name: runs}``) and class triple, the projections of
    training and validation examples with each of ``alphas`` (the ``seed`` run). The last
    network also gets the row of two similar classes and a third (:func:`class_triples`)."""
    rows, last = [], list(runs)[-1]
    for name, rs in runs.items():
        ds = load_data(rs[0].config)
        for triple in class_triples(ds, with_similar=name == last):
            panels, titles = [], []
            for a in alphas:
                r = next(r for r in rs if r.config.alpha == a and r.config.seed == seed)
                for split_name, split in (("train", ds.train), ("validation", ds.val)):
                    panels.append(_projection(r, split_name, split, n, triple))
                    titles.append(f"{split_name}, alpha={a:g}")
            rows.append(ProjectionRow(f"{name}\n{ds.name}", tuple(ds.classes[c] for c in triple), tuple(panels),
                                      tuple(titles)))
    return rows


def geometry_rows(runs: dict, n: int = N_EXAMPLES) -> list:
    """:func:`geometry_numbers` of every run of every network (``{name: runs}``) on the first three
    classes of :func:`class_triples`, for training and validation examples: one row per run and split."""
    rows = []
    for name, rs in runs.items():
        ds = load_data(rs[0].config)
        triple = class_triples(ds)[0]
        for r in rs:
            for split_name, split in (("train", ds.train), ("validation", ds.val)):
                rows.append({"model": name, "alpha": r.config.alpha, "seed": r.config.seed, "split": split_name,
                             **_numbers(r, split_name, split, n, triple)})
    return rows


# A finished run's projections and numbers are kept in its folder (lsnb.engine.runs.derived): a warm rebuild of
# chapter 2 reads them instead of passing thousands of images through every network again. The names say
# what the numbers depend on; GEOMETRY_VERSION changes when the method does.
GEOMETRY_VERSION = 2


def _key(split_name: str, n: int, classes) -> str:
    return f"{split_name}_n{n}_c{'-'.join(str(int(c)) for c in classes)}"


def _projection(run, split_name: str, split, n: int, classes) -> Projection:
    def compute():
        p = project_classes(*penultimate(run, split, n), run.model.head, classes)
        return {"points": p.points.tolist(), "labels": p.labels.tolist(), "templates": p.templates.tolist()}
    blob = derived(run, "geometry", "projection_" + _key(split_name, n, classes), compute,
                   version=GEOMETRY_VERSION)
    return Projection(torch.tensor(blob["points"]), torch.tensor(blob["labels"]), torch.tensor(blob["templates"]),
                      tuple(int(c) for c in classes))


def _numbers(run, split_name: str, split, n: int, classes) -> dict:
    return derived(run, "geometry", "numbers_" + _key(split_name, n, classes),
                   lambda: geometry_numbers(*penultimate(run, split, n), run.model.head, classes),
                   version=GEOMETRY_VERSION)


def geometry_table(rows: list) -> list:
    """:func:`geometry_rows` as a table: per model, alpha and split, each number's mean over the seeds
    there are, headed in words (:data:`GEOMETRY_LABELS`), three significant digits."""
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["alpha"], r["split"]), []).append(r)
    out = []
    for (model, alpha, split), rs in groups.items():
        row = {"model": model, "alpha": f"{alpha:g}", "examples": split}
        for number, label in GEOMETRY_LABELS.items():
            row[label] = f"{sum(r[number] for r in rs) / len(rs):.3g}"
        out.append(row)
    return out


def _values(rows: list, model: str, alpha: float, number: str, split: str) -> list:
    return [r[number] for r in rows if r["model"] == model and r["split"] == split and r["alpha"] == alpha]


def alpha_ratios(rows: list, alpha: float, split: str = "validation") -> dict:
    """How label smoothing changes each geometry number: ``{number: {network: mean at alpha / mean at 0}}``
    over seeds from :func:`geometry_rows` (below 1: tighter, more equidistant, smaller)."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    return {number: {m: mean_and_spread(_values(rows, m, alpha, number, split))[0]
                     / mean_and_spread(_values(rows, m, 0.0, number, split))[0] for m in models}
            for number in GEOMETRY_NUMBERS}


def alpha_comparisons(rows: list, alpha: float, split: str = "validation") -> dict:
    """``{number: {network: Comparison}}``: each geometry number without minus with label smoothing
    ``alpha``, over seeds (> 0: label smoothing lowers it, the paper's Figure 1 reading)."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    return {number: {m: compare(_values(rows, m, 0.0, number, split), _values(rows, m, alpha, number, split))
                     for m in models} for number in GEOMETRY_NUMBERS}


# Figure 1's readings: (geometry number, the claim). Tightness is measured in the plane the figure shows,
# and again in the whole penultimate space (a stronger statement than the picture makes).
GEOMETRY_CLAIMS = (
    ("plane_nc1", "LS makes each class's cluster tighter in Figure 1's template plane: within/between "
                  "variance ratio of the projections"),
    ("nc1", "LS makes each class's cluster tighter in the whole penultimate space (a stronger reading than "
            "Figure 1 shows): within/between variance ratio"),
    ("wrong_template_spread", "LS makes the distances to the wrong templates equal (Figure 1): their spread "
                              "over the margin"),
    ("projection_scale", "LS shrinks the projections (Figure 1): their scale"),
)


def representation_claims(setup, table2, comparisons: dict) -> list:
    """Chapter 2 (sec. 2): Table 2's accuracies (``table2``: :class:`lsnb.chapters.representations.Table2Runs`; the FCN's
    row is chapter 1's claim, not counted twice) and what Figure 1 shows (``comparisons``:
    :func:`lsnb.chapters.representations.alpha_comparisons`)."""
    claims = []
    for name, rs in table2.table2.items():
        if name not in PAPER_TABLE2:
            continue
        acc, paper = table2.comparison(name), PAPER_TABLE2[name]
        dataset = rs[0].config.dataset
        paper_dataset = paper[0].split()[0].lower().replace("-", "")
        claims.append(Claim(
            f"Label smoothing changes top-1 accuracy little, {name} (Table 2; within ±{ACCURACY_MARGIN:g} point)",
            f"{paper[0]}: {paper[1]} vs {paper[2]} %",
            f"{dataset}: {pm(acc.hard, digits=2)} vs {pm(acc.ls, digits=2)} % (alpha 0 vs {setup.alpha:g}); "
            f"LS - hard {acc.comparison.text(2)} points",
            acc.comparison.verdict(ACCURACY_MARGIN), setting(setup, dataset, paper_dataset)))
    for number, claim in GEOMETRY_CLAIMS:
        ours, verdict = parts_text({m: (c, []) for m, c in comparisons[number].items()}, 3)
        claims.append(Claim(f"{claim}, hard - LS", "pictures only", ours, verdict, setting(setup, setup.dataset)))
    return claims
