"""Chapter 5: later claims about label smoothing, measured on the networks of Table 2.

Each function measures one follow-up paper's quantity on every run of chapter 2's Table 2
(:class:`lsnb.chapters.representations.Table2Runs`: hard targets and the chapter's alpha, every
seed), from what the run store keeps: the validation and test logits
(:func:`lsnb.engine.runs.split_logits`), and the weights, whose penultimate features and attack
results are computed once and kept beside the run (:func:`lsnb.engine.runs.derived`).

* :func:`score_rows`: selective classification (Xia et al. 2025; :mod:`lsnb.methods.selective`),
  failure prediction (Zhu et al. 2022) and calibration after temperature scaling (Wang et al. 2021);
* :func:`collapse_rows`: neural collapse (Zhou et al. 2022; Guo et al. 2025) and class separation
  (Kornblith et al. 2021; :mod:`lsnb.methods.collapse`) on the training images;
* :func:`transfer_rows`: Kornblith et al.'s transfer test, networks pretrained on half the classes,
  a linear probe (:mod:`lsnb.methods.probe`) on the other half;
* :func:`attack_rows`: white-box and transferred PGD (Fu et al. 2020; :mod:`lsnb.methods.attacks`).

:mod:`lsnb.chapters.later_verdicts` turns them into the chapter's claims.
"""
from __future__ import annotations

import torch

from ..data.augment import test_view
from ..engine import grid
from ..engine.recipes import transfer_config
from ..engine.runs import derived, last_epoch_accuracy, load_data, predict, split_logits
from ..methods import attacks, collapse, selective
from ..methods.calibration import ece_grid_temperature, fit_temperature
from ..methods.metrics import ece
from ..methods.probe import linear_probe
from .representations import penultimate

# Kornblith et al.'s transfer, offline: pretrain on five classes, probe on the other five. Each probe class has
# a relative among the pretraining classes (Shirt and Coat of T-shirt and Pullover, Sneaker and Ankle boot of
# Sandal), so features that generalise beyond the labels they were trained on can tell them apart.
TRANSFER_SPLIT = {
    "fashion_mnist": (("T-shirt/top", "Trouser", "Pullover", "Sandal", "Bag"),
                      ("Dress", "Coat", "Shirt", "Sneaker", "Ankle boot")),
    "cifar10": (("airplane", "automobile", "bird", "cat", "deer"), ("dog", "frog", "horse", "ship", "truck")),
}
N_TRAIN_FEATURES = 3000  # training images whose penultimate features neural collapse is measured on
PGD_STEPS = 10
# The version of the numbers kept beside the runs (lsnb.engine.runs.derived): raised whenever a method or a
# setting the cache names do not say (the probe's grid of strengths, PGD's step rule) changes.
MEASURE_VERSION = 2


def _hard_first(runs):
    return sorted(runs, key=lambda r: (r.config.alpha, r.config.seed))


def training_name(alpha: float) -> str:
    """How the chapter's tables and figures name a run's training: "hard targets" or "LS, alpha = 0.1"."""
    return "hard targets" if alpha == 0 else f"LS, alpha = {alpha:g}"


# ----------------------------------------------------------------------------- logits: Xia, Zhu, Wang

def score_numbers(run, n_bins: int = 15) -> dict:
    """One run's selective-classification, failure-prediction and calibration numbers on its test split.

    ``aurc_msp`` / ``aurc_pnorm``: AURC (%) of the maximum softmax probability and of MaxLogit-pNorm, its
    ``p`` chosen on the validation split (``p`` None: the MSP was better there and is kept);
    ``auroc`` (%) and ``fpr95`` (%) of the MSP for correct vs wrong; ``ece`` at T = 1 and ``ece_ts`` after
    temperature scaling by the ``T`` with the lowest validation ECE on a grid (Wang et al.'s fit), ``ece_ts_nll``
    by the ``T_nll`` fitted on validation NLL (chapter 3's).
    """
    (val, val_y), (test, test_y) = split_logits(run, "val"), split_logits(run, "test")
    correct = test.argmax(-1) == test_y
    p = selective.choose_p(val, val_y)
    msp = selective.msp_score(test)
    fixed = selective.pnorm_score(test, p) if p is not None else msp
    t_ece, t_nll = ece_grid_temperature(val, val_y, n_bins=n_bins), fit_temperature(val, val_y)
    return {"accuracy": 100 * correct.double().mean().item(), "aurc_msp": 100 * selective.aurc(msp, correct),
            "aurc_pnorm": 100 * selective.aurc(fixed, correct), "p": p,
            "auroc": 100 * selective.auroc(msp, correct), "fpr95": 100 * selective.fpr_at_95_tpr(msp, correct),
            "ece": ece(test, test_y, n_bins), "T": t_ece, "ece_ts": ece(test, test_y, n_bins, t_ece),
            "T_nll": t_nll, "ece_ts_nll": ece(test, test_y, n_bins, t_nll)}


def score_rows(runs: dict, n_bins: int = 15) -> list:
    """:func:`score_numbers` of every run of every network (``{name: runs}``): one row per run."""
    return [{"model": name, "alpha": r.config.alpha, "seed": r.config.seed, **score_numbers(r, n_bins)}
            for name, rs in runs.items() for r in _hard_first(rs)]


def risk_coverage_curves(runs: dict, seed: int, points: int = 200) -> list:
    """Xia et al.'s Figure: the test risk-coverage curve of the ``seed`` runs of every network, hard targets
    and label smoothing with the MSP, and label smoothing with MaxLogit-pNorm (its ``p``, chosen on validation,
    in the ``p`` column; no curve where the MSP was better there); ``points`` per curve."""
    rows = []
    for name, rs in runs.items():
        for r in _hard_first(rs):
            if r.config.seed != seed:
                continue
            (val, val_y), (test, test_y) = split_logits(r, "val"), split_logits(r, "test")
            correct = test.argmax(-1) == test_y
            training = "hard" if r.config.alpha == 0 else f"LS {r.config.alpha:g}"
            scores = {f"{training}, MSP": (selective.msp_score(test), None)}
            p = selective.choose_p(val, val_y)
            if r.config.alpha > 0 and p is not None:
                scores[f"{training}, pNorm"] = (selective.pnorm_score(test, p), p)
            for curve, (s, p_used) in scores.items():
                coverage, risk = selective.risk_coverage(s, correct)
                keep = torch.linspace(1, len(coverage) - 1, points).round().long()
                rows += [{"model": name, "curve": curve, "p": p_used, "coverage (%)": 100 * c, "risk (%)": 100 * k}
                         for c, k in zip(coverage[keep].tolist(), risk[keep].tolist())]
    return rows


def confidence_rows(runs: dict, seed: int) -> list:
    """Zhu et al.'s histograms: the test MSP of the ``seed`` runs, one row per prediction, correct or wrong."""
    rows = []
    for name, rs in runs.items():
        for r in _hard_first(rs):
            if r.config.seed == seed:
                test, test_y = split_logits(r, "test")
                msp = selective.msp_score(test).exp()
                right = (test.argmax(-1) == test_y).tolist()
                rows += [{"model": name, "training": training_name(r.config.alpha), "prediction": "correct" if ok else "wrong",
                          "confidence (max softmax)": m} for m, ok in zip(msp.tolist(), right)]
    return rows


# ----------------------------------------------------------------------------- features: Guo, Zhou, Kornblith

def collapse_rows(runs: dict, n: int = N_TRAIN_FEATURES) -> list:
    """:func:`lsnb.methods.collapse.collapse_numbers` of every run on the penultimate features of its first
    ``n`` training images (the images it was trained on, test-time view): one row per run."""
    rows = []
    for name, rs in runs.items():
        for r in _hard_first(rs):
            def compute(r=r):
                features, labels = penultimate(r, load_data(r.config).train, n)
                return collapse.collapse_numbers(features, labels, r.model.head.weight)
            numbers = derived(r, "collapse", f"train_n{n}", compute, version=MEASURE_VERSION)
            rows.append({"model": name, "alpha": r.config.alpha, "seed": r.config.seed, **numbers})
    return rows


def transfer_split(dataset) -> tuple[tuple, tuple]:
    """The pretraining and the probe classes of a dataset (:data:`TRANSFER_SPLIT`; elsewhere the first and
    the second half of its classes), as indices."""
    names = TRANSFER_SPLIT.get(dataset.name)
    if names is None:
        half = dataset.num_classes // 2
        return tuple(range(half)), tuple(range(half, dataset.num_classes))
    return tuple(tuple(dataset.classes.index(c) for c in part) for part in names)


def transfer_runs(setup, table2, models=None, runs_dir=None) -> dict:
    """The networks of the transfer test: each of ``models`` (None: the profile's ``transfer_models``) trained
    as in Table 2 (``table2``:
    :class:`lsnb.chapters.representations.Table2Runs`, whose datasets they keep) on the pretraining classes
    of :func:`transfer_split` only, with and without label smoothing, every seed."""
    out = {}
    for model in setup.profile.transfer_models if models is None else models:
        first = table2.table2[model][0].config
        pretrain, _ = transfer_split(load_data(first))
        out[model] = grid.train_many([transfer_config(model, setup.profile.name, pretrain, dataset=first.dataset,
                                                      alpha=a, seed=s, epochs=setup.epochs)
                                      for a in table2.alphas for s in setup.seeds], runs_dir=runs_dir)
    return out


def transfer_rows(runs: dict) -> list:
    """Per transfer network: its class separation on its own (pretraining) training images and the test
    accuracy (%) of a linear probe on its frozen penultimate features for the other classes, fitted on their
    validation images (the same images for every network, none trained on) and tested on their test images."""
    rows = []
    for name, rs in runs.items():
        for r in _hard_first(rs):
            probe = transfer_split(load_data(r.config.with_(classes=())))[1]

            def compute(r=r, probe=probe):
                held = load_data(r.config.with_(classes=probe))
                own, own_y = penultimate(r, load_data(r.config).train, N_TRAIN_FEATURES)
                _, train_f = predict(r.model, held.val, r.config.augment, with_features=True)
                _, test_f = predict(r.model, held.test, r.config.augment, with_features=True)
                result = linear_probe(train_f, held.val.y, test_f, held.test.y)
                return {"class_separation": collapse.class_separation(own, own_y, len(r.config.classes)),
                        "probe_accuracy": 100 * result["accuracy"], "probe_lambda": result["lam"],
                        "probe_train": len(held.val), "probe_test": len(held.test)}
            key = f"probe_c{'-'.join(map(str, probe))}_own_n{N_TRAIN_FEATURES}"
            numbers = derived(r, "transfer", key, compute, version=MEASURE_VERSION)
            rows.append({"model": name, "alpha": r.config.alpha, "seed": r.config.seed,
                         "train_accuracy": last_epoch_accuracy([r])[0], **numbers})
    return rows


# ----------------------------------------------------------------------------- attacks: Fu et al.

def attack_budget(dataset: str) -> float:
    """The L-infinity radius of the attacks' verdicts on a dataset: 0.1 on the 28 x 28 grey datasets (the
    usual Fashion-MNIST budget), 8/255 on colour images (the usual CIFAR one)."""
    return 0.1 if dataset in ("fashion_mnist", "mnist") else 8 / 255


def check_attack_eps(attack_eps) -> float | None:
    """The parameters cell's ``attack_eps``: None (each network's :func:`attack_budget`) or an L-infinity radius
    in (0, 0.5] for pixels in [0, 1]."""
    if attack_eps is None:
        return None
    if isinstance(attack_eps, bool) or not isinstance(attack_eps, (int, float)) or not 0 < attack_eps <= 0.5:
        raise ValueError(f"attack_eps={attack_eps!r} is not allowed: use None (each dataset's usual budget) or an "
                         "L-infinity radius in (0, 0.5] for pixels in [0, 1], e.g. 0.1")
    return float(attack_eps)


def attack_radii(dataset: str, attack_eps: float | None = None) -> tuple:
    """The radii a network is attacked at: a quarter, a half and all of its verdicts' radius (``attack_eps``,
    or the dataset's :func:`attack_budget`)."""
    eps = attack_budget(dataset) if attack_eps is None else attack_eps
    return (eps / 4, eps / 2, eps)


def _network(run):
    model, augment = run.model.eval(), run.config.augment
    return lambda x: model(test_view(x, augment))


def _attack_images(run, n: int):
    split = load_data(run.config).test
    device = next(run.model.parameters()).device
    return (split.x[:n].float() / 255).to(device), split.y[:n].to(device)


def transfer_source(run, hard: list):
    """The hard-target network a run's transferred attack is crafted on: the next seed's (cyclically), never
    the run's own seed; None with a single seed."""
    if len(hard) < 2:
        return None
    later = [h for h in hard if h.config.seed > run.config.seed]
    source = later[0] if later else hard[0]
    return source if source.config.seed != run.config.seed else None


def attack_rows(runs: dict, n: int, attack_eps: float | None = None, steps: int = PGD_STEPS) -> list:
    """Per run and radius (:func:`attack_radii` of its dataset): its accuracy (%) on the first ``n`` test images
    clean, under white-box FGSM and PGD (``steps`` steps) crafted on itself, and under PGD *transferred* from
    the hard-target network of the next seed (:func:`transfer_source`; none with one seed). Every attack starts
    from one fixed random seed, so the hard-target source's images are the same whether crafted for its own
    row or transferred."""
    rows = []
    for name, rs in runs.items():
        hard = sorted((r for r in rs if r.config.alpha == 0), key=lambda r: r.config.seed)
        crafted = {}

        def adversarial(source, eps):
            if (source.path.name, eps) not in crafted:
                x, y = _attack_images(source, n)
                crafted[source.path.name, eps] = attacks.pgd(_network(source), x, y, eps, steps,
                                                             generator=torch.Generator().manual_seed(0))
            return crafted[source.path.name, eps]

        for r in _hard_first(rs):
            source = transfer_source(r, hard)
            for eps in attack_radii(r.config.dataset, attack_eps):
                def compute(r=r, eps=eps, source=source):
                    f, (x, y) = _network(r), _attack_images(r, n)
                    out = {"clean": attacks.accuracy_on(f, x, y),
                           "fgsm": attacks.accuracy_on(f, attacks.fgsm(f, x, y, eps), y),
                           "pgd": attacks.accuracy_on(f, adversarial(r, eps), y)}
                    if source is not None:
                        out["transfer"] = attacks.accuracy_on(f, adversarial(source, eps), y)
                    return {k: 100 * v for k, v in out.items()}
                key = (f"test_n{n}_eps{eps:g}_pgd{steps}_start0"
                       + (f"_from_{source.path.name}" if source is not None else ""))
                rows.append({"model": name, "alpha": r.config.alpha, "seed": r.config.seed, "eps": eps,
                             **derived(r, "attacks", key, compute, version=MEASURE_VERSION)})
    return rows
