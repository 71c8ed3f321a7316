"""Figures of the book: seaborn on matplotlib, sized for the page width, axes with units."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from .losses import smooth_targets, smooth_targets_wrong_classes

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
    sns.stripplot(table, x="alpha", y=y, color="0.6", size=4, ax=ax, native_scale=True, jitter=0.003)
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
        ax.scatter(p.templates[:, 0], p.templates[:, 1], marker="*", s=140, color="black", edgecolor="white",
                   linewidth=0.6, zorder=3, label="templates")
        ax.set_title(title, fontsize="small")
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize="x-small")


def projection_figure(rows, class_names_per_row, row_titles):
    """The paper's Figure 1: one row per model (and class triple), four columns:
    train / validation without label smoothing, train / validation with it."""
    n = len(rows)
    fig, axes = plt.subplots(n, 4, figsize=(PAGE_WIDTH, 2.1 * n + 0.4), squeeze=False)
    for r, (projections, names, title) in enumerate(zip(rows, class_names_per_row, row_titles)):
        projection_row(axes[r], projections["panels"], projections["titles"], names)
        lim = max(max(p.points.abs().max().item(), p.templates.abs().max().item()) for p in projections["panels"])
        lim *= 1.05
        for ax in axes[r]:
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
        axes[r, 0].set_ylabel(title, fontsize="small")
        axes[r, -1].legend(fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.02, 1), markerscale=2)
    fig.tight_layout()
    return fig


def geometry_vs_alpha(table: pd.DataFrame):
    """The three geometry numbers against alpha, one line per model, train and validation."""
    metrics = [("nc1", "within / between class spread"), ("wrong_template_spread", "CV of wrong-template distances"),
               ("projection_scale", "projection scale (activation units)")]
    fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH, 2.8))
    for ax, (col, label) in zip(axes, metrics):
        sns.lineplot(table, x="alpha", y=col, hue="model", style="split", marker="o", ax=ax, errorbar="sd")
        ax.set_xlabel("label smoothing alpha")
        ax.set_ylabel(label, fontsize="small")
        ax.set_yscale("log")
        if ax is not axes[-1]:
            ax.get_legend().remove()
    axes[-1].legend(fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig
