"""Chapter 3 (sec. 3 of the paper): its runs, and the finished image classifiers turned into its tables.

The paper's Table 3 (ECE of the hard-target model before and after temperature scaling
(:mod:`lsnb.methods.calibration`), and of the label-smoothed one), Figure 2's reliability
diagrams and the sweeps over alpha and T.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..book.glue import pm
from ..engine import grid
from ..engine.recipes import configs
from ..engine.runs import split_logits
from ..methods import metrics
from ..methods.calibration import calibration_summary, ece_grid_temperature, fit_temperature
from ..methods.metrics import ece, mean_and_spread
from ..methods.stats import Comparison, compare, from_verdict
from ..book.results import Claim
from .common import ChapterSetup
from .representations import Table2Runs
from .paper import LS_TS_MARGIN, memorised, parts_text, setting


def calibration_runs(setup: ChapterSetup, table2: Table2Runs, dataset: str | None = None, runs_dir=None) -> dict:
    """Chapter 3's runs, ``{model: runs}``: Table 2's, plus label smoothing at the profile's
    ``calibration_alphas`` on every seed for its ``calibration_models``, so that alpha is chosen on
    validation as temperature scaling's T is fitted there (:func:`lsnb.chapters.calibration.table3`)."""
    extra = tuple(a for a in setup.profile.calibration_alphas if a not in table2.alphas)
    out = {}
    for model, rs in table2.table2.items():
        more = []
        if extra and model in setup.profile.calibration_models:
            more = grid.train_many(configs(model, setup.profile.name, dataset=dataset, alphas=extra,
                                           seeds=setup.seeds, epochs=setup.epochs), runs_dir=runs_dir)
        out[model] = list(rs) + list(more)
    return out


def run_calibration(run, n_bins: int = 15, temperature: float = 1.0) -> dict:
    """:func:`calibration_summary` of a finished image run on its test split (logits kept in the run store)."""
    logits, labels = split_logits(run, "test")
    return calibration_summary(logits, labels, n_bins, temperature)


def _first(runs, alpha: float, seed: int):
    return next(r for r in runs if r.config.alpha == alpha and r.config.seed == seed)


def scaling_rows(runs: dict, n_bins: int = 15) -> list:
    """Table 3's measurements, two rows per run of every model (``{name: [runs]}``).

    Each run's temperature is fitted on its validation split, by NLL (``T_nll``) and on
    the ECE grid (``T_ece``), and its validation ECE at T = 1 (``val_ece``) is what label
    smoothing's alpha is chosen by (:func:`table3`); the rows are its test-set
    :func:`calibration_summary` without scaling (``method="none"``) and divided by ``T_nll``
    (``"temperature"``).
    """
    rows = []
    for name, rs in runs.items():
        for r in rs:
            val_logits, val_y = split_logits(r, "val")
            t_nll = fit_temperature(val_logits, val_y)
            t_ece = ece_grid_temperature(val_logits, val_y, n_bins=n_bins)
            base = {"model": name, "alpha": r.config.alpha, "seed": r.config.seed, "T_nll": t_nll, "T_ece": t_ece,
                    "val_ece": ece(val_logits, val_y, n_bins)}
            rows.append({**base, "method": "none", **run_calibration(r, n_bins)})
            rows.append({**base, "method": "temperature", **run_calibration(r, n_bins, t_nll)})
    return rows


# Table headers in words for the calibration numbers of calibration_summary.
COLUMN_NAMES = {"accuracy": "accuracy (%)", "ece": "ECE", "adaptive_ece": "adaptive ECE",
                "classwise_ece": "class-wise ECE", "nll": "NLL (nats)"}


def scaling_table(rows: list) -> list:
    """:func:`scaling_rows` as a table: per model, alpha and method ("none", or "temperature scaling"),
    the test numbers' means over seeds, with headers in words and three decimals (accuracy two)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["alpha"], r["method"]), []).append(r)
    out = []
    for (model, alpha, method), rs in groups.items():
        row = {"model": model, "alpha": f"{alpha:g}",
               "scaling": "temperature (fitted T)" if method == "temperature" else "none", "seeds": len(rs)}
        for key, name in COLUMN_NAMES.items():
            mean = sum(r[key] for r in rs) / len(rs)
            row[name] = f"{mean:.2f}" if key == "accuracy" else f"{mean:.3f}"
        out.append(row)
    return out


def reliability_panels(runs: dict, rows: list, alpha: float, seed: int, n_bins: int = 15) -> dict:
    """Figure 2's data per model: the test reliability of the hard-target run of ``seed``, of the same
    run divided by its fitted ``T_nll`` (from :func:`scaling_rows`'s ``rows``), and of the run with
    label smoothing ``alpha``, for :func:`lsnb.book.plots.reliability_diagrams`."""
    panels = {}
    for name, rs in runs.items():
        hard, ls = _first(rs, 0.0, seed), _first(rs, alpha, seed)
        t = next(r["T_nll"] for r in rows if r["model"] == name and r["alpha"] == 0 and r["seed"] == seed)
        (h_logits, h_y), (l_logits, l_y) = split_logits(hard, "test"), split_logits(ls, "test")
        panels[f"{name} ({hard.config.dataset})\nfitted T = {t:.2f}"] = {
            "hard targets": metrics.reliability(h_logits, h_y, n_bins),
            "hard, fitted T": metrics.reliability(h_logits, h_y, n_bins, t),
            f"LS, alpha = {alpha:g}": metrics.reliability(l_logits, l_y, n_bins)}
    return panels


def alpha_sweep(runs: dict, n_bins: int = 15) -> list:
    """Test calibration against the label smoothing alpha: one row per run of every model."""
    return [{"model": name, "alpha": r.config.alpha, **run_calibration(r, n_bins)}
            for name, rs in runs.items() for r in rs]


def temperature_sweep(runs: dict, alphas, seed: int, grid, n_bins: int = 15) -> list:
    """Test calibration against T for the ``seed`` run of every model and alpha (``"hard"`` or ``"LS alpha"``)."""
    rows = []
    for name, rs in runs.items():
        for a in alphas:
            r = _first(rs, a, seed)
            for t in grid:
                rows.append({"model": name, "training": "hard" if a == 0 else f"LS {a:g}", "T": t,
                             **run_calibration(r, n_bins, t)})
    return rows


def chosen_alphas(rows: list, model: str) -> dict:
    """Label smoothing tuned as temperature scaling is: per seed, the alpha > 0 among ``model``'s runs in
    :func:`scaling_rows` with the lowest **validation** ECE (ties: the smaller alpha), ``{seed: alpha}``."""
    best = {}
    for r in rows:
        if r["model"] == model and r["alpha"] > 0 and r["method"] == "none":
            key = (r["val_ece"], r["alpha"])
            if r["seed"] not in best or key < best[r["seed"]]:
                best[r["seed"]] = key
    return {seed: alpha for seed, (_, alpha) in sorted(best.items())}


def _candidates(rows: list, model: str) -> int:
    return len({r["alpha"] for r in rows if r["model"] == model and r["alpha"] > 0})


def table3(rows: list, runs: dict) -> tuple[list, dict]:
    """The paper's Table 3 (image rows) from :func:`scaling_rows`, and its numbers per seed.

    Per model, mean ± sd over seeds: the test ECE of the hard-target model (baseline), the
    same after temperature scaling with its temperatures (NLL fit, ECE grid), and the ECE of
    the label-smoothed model whose alpha has the lowest validation ECE among those trained
    (:func:`chosen_alphas`; the accuracies are chapter 2's Table 2). The numbers are
    ``{model: {"baseline", "temperature", "T", "ls", "ls_alpha"}}``, one value per seed.
    """
    def column(key, model, **where):
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"])
                if r["model"] == model and all(r[k] == v for k, v in where.items())]

    base = {"alpha": 0.0, "method": "none"}
    ts = {"alpha": 0.0, "method": "temperature"}
    table, numbers = [], {}
    for name in runs:
        chosen = chosen_alphas(rows, name)
        ls = [column("ece", name, alpha=a, seed=s, method="none")[0] for s, a in chosen.items()]
        alphas = sorted(set(chosen.values()))
        table.append({"model": name, "baseline ECE": pm(column("ece", name, **base), digits=3),
                      "temp. scaling ECE": pm(column("ece", name, **ts), digits=3),
                      "T (NLL fit)": pm(column("T_nll", name, **ts), digits=2),
                      "T (ECE grid)": pm(column("T_ece", name, **ts), digits=2),
                      "LS ECE (alpha chosen on validation)": pm(ls, digits=3),
                      "alpha chosen": ", ".join(f"{a:g}" for a in alphas)
                      + ("" if _candidates(rows, name) > 1 else " (the only one trained)")})
        numbers[name] = {"baseline": column("ece", name, **base), "temperature": column("ece", name, **ts),
                         "T": column("T_nll", name, **ts), "ls": ls, "ls_alpha": list(chosen.values())}
    return table, numbers


@dataclass(frozen=True)
class Table3Summary:
    """Table 3's per-seed numbers per model (:func:`table3`) and the comparisons behind the paper's
    sec. 3 argument, each a :class:`lsnb.methods.stats.Comparison` over seeds signed so that > 0 is the paper's
    finding."""

    numbers: dict

    def means(self, model: str) -> dict:
        """Mean over seeds of the baseline, temperature-scaled and label-smoothed ECE and the fitted T."""
        n = self.numbers[model]
        return {"baseline": mean_and_spread(n["baseline"])[0], "ts": mean_and_spread(n["temperature"])[0],
                "ls": mean_and_spread(n["ls"])[0], "T": mean_and_spread(n["T"])[0]}

    def alpha_text(self, model: str) -> str:
        """The alphas chosen on validation for ``model`` (one per seed), e.g. ``"0.05"`` or ``"0.05, 0.1"``."""
        return ", ".join(f"{a:g}" for a in sorted(set(self.numbers[model].get("ls_alpha", []))))

    def over_confidence(self, model: str) -> Comparison:
        """The fitted temperature above 1 (> 0: the hard-target model is over-confident, the regime of
        the paper's claim)."""
        t = self.numbers[model]["T"]
        return compare(t, [1.0] * len(t))

    def ts_gain(self, model: str) -> Comparison:
        """Temperature scaling's lower test ECE than the hard-target model's."""
        return compare(self.numbers[model]["baseline"], self.numbers[model]["temperature"])

    def ls_gain(self, model: str) -> Comparison:
        """Label smoothing's lower test ECE than the hard-target model's."""
        return compare(self.numbers[model]["baseline"], self.numbers[model]["ls"])

    def ls_vs_ts(self, model: str) -> Comparison:
        """Label smoothing's ECE minus temperature scaling's: "about as well" is within
        :data:`LS_TS_MARGIN` (``.verdict(LS_TS_MARGIN)``)."""
        return compare(self.numbers[model]["ls"], self.numbers[model]["temperature"])


def summarise_table3(numbers: dict) -> Table3Summary:
    """:class:`Table3Summary` of :func:`table3`'s numbers."""
    return Table3Summary(numbers)


def calibration_claims(setup, summary, runs: dict, train_accuracy: dict | None) -> list:
    """Chapter 3 (sec. 3): the regime (over-confident hard-target networks) and Table 3's argument
    (``summary``: :class:`lsnb.chapters.calibration.Table3Summary` of the models ``runs``, ``{name: runs}``;
    ``train_accuracy``: ``{name: [the hard-target runs' last-epoch training accuracy, %]}`` where the
    profile trains them to memorise a subset, None where they keep the paper's recipe,
    :meth:`lsnb.chapters.representations.Table2Runs.regime_accuracy`).

    "Over-confident" is tested on the networks that memorised their training set (where the profile
    means them to); temperature scaling and label smoothing (its alpha chosen on validation, as T is
    fitted there) are compared on the networks that are over-confident by the rule.
    """
    models = list(runs)
    note = setting(setup, runs[models[0]][0].config.dataset, "cifar100")
    regime = {m: [memorised(train_accuracy[m])] if train_accuracy is not None else [] for m in models}
    over = {m: summary.over_confidence(m) for m in models}
    needs = {m: regime[m] + [from_verdict("the hard-target network is over-confident (fitted T - 1 > 0)",
                                          over[m], label="T - 1")] for m in models}
    over_ours, over_verdict = parts_text({m: (over[m], regime[m]) for m in models}, 2)
    temps = ", ".join(f"{m} {pm(summary.numbers[m]['T'], digits=2)}" for m in models)
    eces = ", ".join(f"{m} {summary.means(m)['baseline']:.3f} / {summary.means(m)['ts']:.3f} / "
                     f"{summary.means(m)['ls']:.3f} (alpha {summary.alpha_text(m)})" for m in models)
    ts_ours, ts_verdict = parts_text({m: (summary.ts_gain(m), needs[m]) for m in models}, 3)
    ls_ours, ls_verdict = parts_text({m: (summary.ls_gain(m), needs[m]) for m in models}, 3)
    close_ours, close_verdict = parts_text({m: (summary.ls_vs_ts(m), needs[m]) for m in models}, 3, LS_TS_MARGIN)
    premise = "; ".join(p.condition for p in needs[models[0]])
    return [
        Claim("Hard-target networks are over-confident: the fitted temperature T > 1 (T - 1)",
              "T = 1.9 (CIFAR-100 ResNet-56), 1.4 (ImageNet Inception-v4)",
              f"T: {temps}; {over_ours}", over_verdict, note, "; ".join(p.condition for p in regime[models[0]])),
        Claim("Table 3: temperature scaling lowers the test ECE (baseline - TS)",
              "0.150 -> 0.021 (CIFAR-100 ResNet-56)",
              f"ECE baseline / TS / LS: {eces}; {ts_ours}", ts_verdict, note, premise),
        Claim("Table 3: label smoothing, alpha chosen on validation, lowers the test ECE (baseline - LS)",
              "0.150 -> 0.024 (CIFAR-100 ResNet-56, alpha 0.05)", ls_ours, ls_verdict, note, premise),
        Claim(f"Label smoothing calibrates about as well as temperature scaling, each tuned on validation "
              f"(sec. 3; LS - TS test ECE within ±{LS_TS_MARGIN:g})",
              "LS 0.024 vs TS 0.021 (CIFAR-100 ResNet-56)", close_ours, close_verdict, note, premise),
    ]


def ece_shape(rows: list) -> str:
    """Where each model's test ECE is lowest in the sweep over alpha (:func:`alpha_sweep`), and whether it is
    higher again at the sweep's largest alpha, in words: "0.05 for the FCN (higher again at 0.2)".
    One seed per point: it describes the curve, no claim is judged on it."""
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        ece_at = {r["alpha"]: r["ece"] for r in rows if r["model"] == model}
        low, last = min(ece_at, key=ece_at.get), max(ece_at)
        if low == last:
            parts.append(f"{last:g} for the {model} (the largest of the sweep)")
        else:
            rise = "higher again" if ece_at[last] > ece_at[low] else "as low"
            parts.append(f"{low:g} for the {model} ({rise} at {last:g})")
    return "; ".join(parts)
