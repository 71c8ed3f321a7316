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
