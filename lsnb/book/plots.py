"""Figures of the book: seaborn on matplotlib, sized for the page width, axes with units."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from ..methods.losses import smooth_targets, smooth_targets_wrong_classes

PAGE_WIDTH = 7.5  # inches: the text column of the book theme at 100 dpi


def set_style() -> None:
    """One look for every figure of the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "figure.figsize": (PAGE_WIDTH, 3.2),
                         "axes.titlesize": "medium"})


def target_vectors(num_classes: int, alpha: float, label: int = 0, class_names=None):
    """Bar chart of one target vector: hard, smoothed with alpha/K (eq. (1)), and with alpha/(K-1)."""
    y = torch.tensor([label])
    rows = []
    for name, vec in [("hard (one-hot)", torch.nn.functional.one_hot(y, num_classes)[0].float()),
                      (f"paper / torch: alpha/K, alpha={alpha}", smooth_targets(y, num_classes, alpha)[0]),
                      (f"alpha/(K-1), alpha={alpha}", smooth_targets_wrong_classes(y, num_classes, alpha)[0])]:
        for k, v in enumerate(vec.tolist()):
            rows.append({"class": (class_names[k] if class_names else str(k)), "target probability": v,
                         "target": name})
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.2))
    sns.barplot(pd.DataFrame(rows), x="class", y="target probability", hue="target", ax=ax)
    ax.set_yscale("log")
    ax.set_ylim(5e-3, 1.5)
    ax.set_ylabel("target probability (log scale)")
    ax.set_xlabel("class k")
    if class_names:
        ax.tick_params(axis="x", rotation=30, labelsize="small")
    ax.legend(loc="upper right", fontsize="small", title=None)
    fig.tight_layout()
    return fig


def history_frame(runs) -> pd.DataFrame:
    """Per-epoch histories of many runs as one long table (alpha, seed, epoch, metrics)."""
    rows = [{"alpha": r.config.alpha, "seed": r.config.seed, **h} for r in runs for h in r.history]
    return pd.DataFrame(rows)


def training_curves(runs):
    """Training loss and validation accuracy against epoch, one colour per alpha, band = spread over seeds."""
    df = history_frame(runs)
    df["alpha"] = df["alpha"].map(lambda a: f"{a:g}")
    if "val_accuracy" in df:
        df["val_accuracy"] *= 100
    has_val = "val_accuracy" in df
    fig, axes = plt.subplots(1, 2 if has_val else 1, figsize=(PAGE_WIDTH, 3.2), squeeze=False)
    sns.lineplot(df, x="epoch", y="train_loss", hue="alpha", marker="o", errorbar="sd", ax=axes[0, 0])
    axes[0, 0].set_ylabel("training loss H(y_LS, p) (nats)")
    if has_val:
        sns.lineplot(df, x="epoch", y="val_accuracy", hue="alpha", marker="o", errorbar="sd", ax=axes[0, 1])
        axes[0, 1].set_ylabel("validation accuracy (%)")
        axes[0, 1].legend_.remove()
    for ax in axes[0]:
        ax.set_xlabel("epoch")
    fig.tight_layout()
    return fig


def metric_vs_alpha(table: pd.DataFrame, y: str, ylabel: str):
    """One point per run and the mean with its seed spread, against the label smoothing alpha."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH * 0.6, 3.0))
    state = np.random.get_state()  # seaborn jitters from numpy's global generator: the same jitter every build
    np.random.seed(0)
    try:
        sns.stripplot(table, x="alpha", y=y, color="0.6", size=4, ax=ax, native_scale=True, jitter=0.003)
    finally:
        np.random.set_state(state)
    sns.pointplot(table, x="alpha", y=y, errorbar="sd", capsize=0.1, ax=ax, native_scale=True, color="C0")
    ax.set_xlabel("label smoothing alpha")
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def projection_row(axes, projections, titles, class_names, markers=("o", "s", "^")) -> None:
    """One row of the paper's Figure 1: projected activations per split/alpha, templates as black stars.

    All panels of the row share the same axis limits (the caller creates the row with
    ``sharex``/``sharey``), so the change of scale between alphas is visible.
    """
    palette = sns.color_palette("colorblind", 3)
    for ax, p, title in zip(axes, projections, titles):
        for k in range(3):
            pts = p.points[p.labels == k]
            ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.35, color=palette[k], marker=markers[k],
                       label=class_names[k], rasterized=True)
        ax.scatter(p.templates[:, 0], p.templates[:, 1], marker="*", s=90, color="black", edgecolor="white",
                   linewidth=0.6, zorder=3, label="templates")
        ax.set_title(title, fontsize="small")
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelsize="x-small")


def projection_heading(rows, r: int) -> str:
    """The heading of row ``r`` of Figure 1: the network, its dataset and the three classes. A network
    that comes back for a second triple (:func:`lsnb.chapters.representations.figure1_rows` gives the last one two
    similar classes and a third) says so, so no two rows read alike."""
    row = rows[r]
    network = row.title.replace("\n", " on ")
    again = any(other.title == row.title for other in rows[:r])
    return f"{network}{', two similar classes and a third' if again else ''}: {', '.join(row.class_names)}"


def projection_figure(rows):
    """The paper's Figure 1 from :func:`lsnb.chapters.representations.figure1_rows`: one row per network and class
    triple, four columns: train / validation without label smoothing, train / validation with it.

    Each row is a sub-figure with its own heading (network, dataset, classes) and its legend
    below it, so the four panels of a row get the whole page width.
    """
    n = len(rows)
    panel = PAGE_WIDTH / 4
    fig = plt.figure(figsize=(PAGE_WIDTH, n * (panel + 0.9)), layout="constrained")
    subfigs = fig.subfigures(n, 1, squeeze=False)[:, 0]
    for r, (sub, row) in enumerate(zip(subfigs, rows)):
        axes = sub.subplots(1, 4)
        titles = [t.replace("alpha=", "α = ") for t in row.titles]
        projection_row(axes, row.panels, titles, row.class_names)
        lim = max(max(p.points.abs().max().item(), p.templates.abs().max().item()) for p in row.panels)
        lim *= 1.05
        for ax in axes:
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
        sub.suptitle(projection_heading(rows, r), x=0.01, ha="left", fontsize="medium", fontweight="bold")
        sub.legend(handles=projection_legend(row.class_names), loc="outside lower center", ncol=4,
                   fontsize="small", frameon=False, handletextpad=0.3, columnspacing=1.2)
    return fig


def projection_legend(class_names, markers=("o", "s", "^")) -> list:
    """Legend entries of a Figure 1 row: the classes in :func:`projection_row`'s colours and markers
    (opaque and larger than the faint points), and the templates."""
    from matplotlib.lines import Line2D

    palette = sns.color_palette("colorblind", 3)
    handles = [Line2D([], [], ls="", marker=m, markersize=6, color=c, label=name)
               for name, m, c in zip(class_names, markers, palette)]
    return handles + [Line2D([], [], ls="", marker="*", markersize=10, color="black", label="templates")]


def geometry_vs_alpha(table: pd.DataFrame):
    """The geometry numbers of :data:`lsnb.methods.geometry.GEOMETRY_LABELS` against alpha (linear axis; the
    numbers on log axes), one line per model, train and validation; one legend beside the panels."""
    from ..methods.geometry import GEOMETRY_LABELS
    metrics = [(col, label + (" (activation units)" if col == "projection_scale" else ""))
               for col, label in GEOMETRY_LABELS.items() if col in table]
    rows = (len(metrics) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(PAGE_WIDTH, 2.6 * rows), squeeze=False)
    for ax, (col, label) in zip(axes.flat, metrics):
        sns.lineplot(table, x="alpha", y=col, hue="model", style="split", marker="o", ax=ax, errorbar="sd")
        ax.set_xlabel("label smoothing alpha")
        ax.set_ylabel(label.replace(" (", "\n(").replace(" / ", "\n/ "), fontsize="small")  # two short lines
        ax.set_yscale("log")
        ax.get_legend().remove()
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 0.95))
    fig.tight_layout()
    return fig


def reliability_diagrams(panels: dict):
    """The paper's Figure 2 style: per model, accuracy against confidence for several variants
    (dashed diagonal = perfect calibration). ``panels`` maps a title to ``{label: reliability dict}``;
    the legend beside the last panel serves all of them, so the panels' labels must be the same
    (a model's own numbers, such as its fitted T, belong in its title)."""
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(PAGE_WIDTH, PAGE_WIDTH / max(n, 2.5) + 0.5), squeeze=False,
                             sharey=True)
    for ax, (title, curves) in zip(axes[0], panels.items()):
        ax.plot([0, 1], [0, 1], "--", color="0.5", linewidth=1)
        for (label, r), marker in zip(curves.items(), ("o", "s", "^", "D")):
            keep = r["count"] > 0
            ax.plot(r["confidence"][keep], r["accuracy"][keep], marker=marker, markersize=4, label=label)
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("confidence")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
    axes[0, 0].set_ylabel("accuracy")
    axes[0, -1].legend(fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def curves_vs(table: pd.DataFrame, x: str, ys, xlabel: str, hue: str = "model", style: str | None = None):
    """Small multiples of several columns against one parameter (alpha or temperature)."""
    fig, axes = plt.subplots(1, len(ys), figsize=(PAGE_WIDTH, 2.8), squeeze=False)
    for ax, (col, label) in zip(axes[0], ys):
        sns.lineplot(table, x=x, y=col, hue=hue, style=style, marker="o", markersize=4, ax=ax, errorbar="sd")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label, fontsize="small")
        if ax is not axes[0, -1]:
            ax.get_legend().remove()
    axes[0, -1].legend(fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def accuracy_vs_gamma(table: pd.DataFrame):
    """The paper's Figure 5: test accuracy against the smoothness index gamma, one line per way of training.

    ``table`` has columns ``curve``, ``knob``, ``gamma`` and ``accuracy`` (%), one row per
    seed; each point is the mean over seeds (gamma too: a teacher's gamma varies a little
    between seeds) with a bar of one standard deviation, joined in order of gamma.
    """
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.4))
    points = table.groupby(["curve", "knob"], sort=False).agg(gamma=("gamma", "mean"), accuracy=("accuracy", "mean"),
                                                 sd=("accuracy", "std")).reset_index().fillna({"sd": 0.0})
    for (curve, rows), marker in zip(points.groupby("curve", sort=False), "osD^v<>"):
        rows = rows.sort_values("gamma")
        ax.errorbar(rows.gamma, rows.accuracy, yerr=rows.sd, marker=marker, ms=5, capsize=3, label=curve)
    ax.set_xlabel("smoothness index gamma (probability on wrong classes x K/(K-1))")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def information_over_training(table: pd.DataFrame, log_n: float):
    """The paper's Figure 6: estimated I(X; Y) in nats over training, with the log 2 line. The axis spans
    the curves and log 2; the ceiling log N is written in the corner, since a line there would squeeze
    the curves into a band whenever they stay far below it."""
    import math

    fig, ax = plt.subplots(figsize=(PAGE_WIDTH * 0.75, 3.2))
    sns.lineplot(table, x="epoch", y="mi", hue="training", marker="o", markersize=4, errorbar="sd", ax=ax)
    ax.axhline(math.log(2), color="0.3", ls="--", lw=1)
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, math.log(2) - 0.05), high)
    ax.text(ax.get_xlim()[1], math.log(2), " log 2", va="center", fontsize="small")
    ax.text(0.99, 0.97, f"ceiling log N = {log_n:.2f} nats", transform=ax.transAxes, ha="right", va="top",
            fontsize="x-small", color="0.3")
    ax.set_xlabel("training epoch")
    ax.set_ylabel("I(X; Y) estimate (nats)")
    ax.legend(fontsize="small", title=None)
    fig.tight_layout()
    return fig


def information_vs_samples(table: pd.DataFrame):
    """Figure 6's bias check: the final I(X; Y) estimate against the number of augmentations L per example,
    for the networks (mean ± sd over seeds) and for the control whose true value is log 2."""
    import math

    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.2))
    sns.lineplot(table, x="L", y="mi", hue="source", marker="o", markersize=4, errorbar="sd", ax=ax)
    ax.axhline(math.log(2), color="0.3", ls="--", lw=1)
    ax.text(ax.get_xlim()[1], math.log(2), " log 2", va="center", fontsize="small")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("augmentations per example L (log scale)")
    ax.set_ylabel("I(X; Y) estimate (nats)")
    # beside the axes, not over the bands
    ax.legend(fontsize="small", title=None, loc="upper left", bbox_to_anchor=(1.08, 1), frameon=False)
    fig.tight_layout()
    return fig


def _panels_by(table: pd.DataFrame, by: str, height: float = 2.8, sharey: bool = True):
    names = list(dict.fromkeys(table[by]))
    fig, axes = plt.subplots(1, len(names), figsize=(PAGE_WIDTH, height), squeeze=False, sharey=sharey)
    return fig, list(zip(names, axes[0]))


def risk_coverage(table: pd.DataFrame):
    """Xia et al. (2025)'s risk-coverage curves (:func:`lsnb.chapters.later_claims.risk_coverage_curves`): per
    network, the error rate among the accepted test examples against the fraction accepted, most confident
    first; one line per training and confidence score (a panel's title gives the pNorm's ``p``). Lower is
    better; the area under a curve is its AURC."""
    fig, panels = _panels_by(table, "model")
    curves = list(dict.fromkeys(table["curve"]))
    for name, ax in panels:
        part = table[table["model"] == name]
        sns.lineplot(part, x="coverage (%)", y="risk (%)", hue="curve", style="curve", hue_order=curves,
                     style_order=curves, ax=ax, errorbar=None, linewidth=1.2)
        p = part["p"].dropna()
        ax.set_title(name + (f" (pNorm p = {p.iloc[0]:g})" if len(p) else " (pNorm: MSP kept)"), fontsize="small")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 1.05 * table["risk (%)"].max())
        ax.get_legend().remove()
    handles = {}
    for _, ax in panels:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend([handles[c] for c in curves if c in handles], [c for c in curves if c in handles],
               fontsize="x-small", loc="lower center", ncol=len(curves), frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def confidence_histograms(table: pd.DataFrame):
    """Zhu et al. (2022)'s histograms (:func:`lsnb.chapters.later_claims.confidence_rows`): the maximum softmax
    probability of correct and of wrong test predictions, one panel per network and training, each group
    normalised to sum to 1, on a logarithmic count axis (most correct predictions sit in the last bin)."""
    trainings = list(dict.fromkeys(table["training"]))
    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(len(trainings), len(models), figsize=(PAGE_WIDTH, 2.1 * len(trainings) + 0.4),
                             squeeze=False, sharex=True, sharey=True)
    for i, training in enumerate(trainings):
        for j, model in enumerate(models):
            ax = axes[i, j]
            part = table[(table["model"] == model) & (table["training"] == training)]
            sns.histplot(part, x="confidence (max softmax)", hue="prediction", hue_order=["correct", "wrong"],
                         bins=np.linspace(0, 1, 21), stat="probability", common_norm=False, element="step", ax=ax,
                         legend=(i, j) == (0, len(models) - 1))
            ax.set_yscale("log")
            ax.set_title(f"{model}, {training}", fontsize="small")
            ax.set_ylabel("fraction of the group" if j == 0 else "")
            ax.set_xlabel("")
    sns.move_legend(axes[0, -1], "upper left", fontsize="x-small", title_fontsize="x-small")
    fig.supxlabel("confidence: the maximum softmax probability", fontsize="small")
    fig.tight_layout()
    return fig


def robustness_vs_eps(table: pd.DataFrame):
    """Fu et al. (2020)'s comparison (:func:`lsnb.chapters.later_claims.attack_rows`, long form): test accuracy
    (%) against the L-infinity radius eps of the attack, per network; colour the training, line style the
    attack (white-box FGSM and PGD, PGD transferred from a hard-target network of another seed); band: sd
    over seeds."""
    fig, panels = _panels_by(table, "model", height=3.4)
    for name, ax in panels:
        sns.lineplot(table[table["model"] == name], x="eps", y="accuracy (%)", hue="training", style="attack",
                     marker="o", markersize=4, errorbar="sd", ax=ax)
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("")
        ax.set_ylim(0, 100)
        ax.get_legend().remove()
    fig.supxlabel("attack radius eps (L-infinity, pixels in [0, 1])", fontsize="small", y=0.2)
    handles, labels = panels[-1][1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="x-small", loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig
