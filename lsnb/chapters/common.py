"""What a chapter's first cells need: its parameters cell validated, and the runs it trains.

:func:`setup` checks every parameter a chapter takes -- the same ones in every chapter,
plus a few of its own -- before any data is loaded, and fails with a one-line message
naming the bad parameter. :func:`table2_runs` trains (or loads) the networks of the
paper's Table 2 and their sweep over alpha, which chapters 2 and 3 share;
:func:`translation_setup` is chapter 3b's parameters cell; :func:`distillation_setup`
turns a profile's :class:`~lsnb.engine.profiles.DistillProfile` into the configs of the paper's
sec. 4 and :func:`hinton_runs`, :func:`figure5_runs` and :func:`followup_rows` train them.
"""
from __future__ import annotations

import ast
import difflib
import os
import time
from dataclasses import dataclass, field

from ..data.names import check_dataset
from ..engine import train
from ..engine.machine import cpu_model
from ..engine.config import check_alpha, check_positive_int, check_settings
from ..engine.profiles import Profile, get_profile
from ..book.results import PROFILE_SCHEDULE, default_results_dir
from ..engine.store import default_runs_dir, writable_dir


@dataclass(frozen=True)
class ChapterSetup:
    """The validated parameters cell of a chapter.

    ``epochs`` is None where each network keeps its profile's schedule; a number makes
    every network of the chapter train that many epochs.
    """

    profile: Profile
    dataset: str
    alpha: float
    seeds: tuple
    epochs: int | None
    hardware: str = ""
    started: float = field(default_factory=time.time)

    def meta(self) -> dict:
        """What the page's banner and the scorecard say about how it was made (wall time so far, s; the
        precision the chapter's training runs recorded, :func:`precision_text`)."""
        return {"profile": self.profile.name, "hardware": self.hardware, "seeds": len(self.seeds),
                "epochs": self.epochs, "wall_s": round(time.time() - self.started, 1),
                "precision": precision_text(train.precisions_used())}

    def describe(self) -> str:
        epochs = PROFILE_SCHEDULE if self.epochs is None else self.epochs
        return (f"profile={self.profile.name!r} ({self.profile.device_note}), dataset={self.dataset!r}, "
                f"alpha={self.alpha}, seeds={list(self.seeds)}, epochs={epochs}")


PAPERMILL_HEADER = "# Parameters"  # the first line of the cell papermill injects after a notebook's parameters cell


def _assigned(source: str) -> list:
    """The names a cell's top-level statements assign, in order (the parameters cell and papermill's cell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]


def check_passed_parameters(history=None) -> None:
    """Refuse a parameter papermill passed that the chapter does not take (papermill only logs it): the
    names papermill's injected cell assigns must be names the chapter's parameters cell assigns.

    ``history``: the sources of the cells executed so far, in order (default: IPython's ``In``; outside
    IPython, or where no papermill cell ran, there is nothing to check). The parameters cell is the cell
    executed just before papermill's.
    """
    if history is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        history = shell.user_ns.get("In", []) if shell is not None else []
    injected = [i for i, source in enumerate(history) if source.lstrip().startswith(PAPERMILL_HEADER)]
    if not injected or injected[-1] == 0:
        return
    i = injected[-1]
    declared = _assigned(history[i - 1])
    if "profile" not in declared:  # not the parameters cell (a re-run cell, a notebook of another shape): no check
        return
    unknown = [name for name in _assigned(history[i]) if name not in declared]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, declared, n=1)
        hint = f"did you mean {close[0]}?" if close else f"this chapter takes {', '.join(declared)}"
        raise ValueError(f"{name} is not a parameter of this chapter: {hint} (papermill -p {name} ... would "
                         "otherwise be ignored)")


def setup(profile="cpu", *, dataset=None, alpha=0.1, seed=0, n_seeds=None, epochs=None, runs_dir=None,
          results_dir=None, task="image") -> ChapterSetup:
    """Validate a notebook's parameters cell; fail with a one-line message naming the bad parameter.

    Every chapter takes the same parameters (and a few of its own): ``dataset`` must suit
    the chapter's ``task`` (``"image"`` classification or ``"translation"``), and the run
    store and results folders must be writable -- all checked before any data is loaded.
    """
    check_passed_parameters()
    p = get_profile(profile)
    check_settings(cifar10=profile == "gpu")
    dataset = check_dataset(dataset if dataset is not None else p.dataset, task)
    alpha = check_alpha(alpha)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed: seed must be a whole number >= 0")
    n_seeds = check_positive_int("n_seeds", n_seeds if n_seeds is not None else p.seeds)
    epochs = check_positive_int("epochs", epochs, allow_none=True)
    writable_dir(runs_dir if runs_dir is not None else default_runs_dir(), "runs_dir", create=False)
    writable_dir(results_dir if results_dir is not None else default_results_dir(), "results_dir", create=False)
    train.forget_precisions()
    return ChapterSetup(p, dataset, alpha, tuple(range(seed, seed + n_seeds)), epochs, hardware())


def hardware() -> str:
    """The machine a chapter runs on, in words: the GPU (with CUDA) or the CPU model and its cores, and
    torch's version. The precision is the training runs' own (:func:`precision_text`): runs loaded from
    the store may have been trained elsewhere."""
    import torch

    from ..engine.runs import default_device
    device = default_device()
    if device.type == "cuda":
        where = f"GPU {torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}"
    else:
        where = f"CPU {cpu_model()}, {os.cpu_count()} cores"
    return f"{where}, torch {torch.__version__.split('+')[0]}"


def precision_text(counts: dict) -> str:
    """``{precision: runs}`` in words: ``"fp32 (all 12 training runs)"``, ``"fp32 for 10 runs, bf16 for 2"``."""
    if not counts:
        return "no training run"
    if len(counts) == 1:
        (name, n), = counts.items()
        return f"{name} (all {n} training runs)" if n > 1 else f"{name} (its one training run)"
    return ", ".join(f"{name} for {n} run{'s' if n > 1 else ''}"
                     for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def check_n_bins(n_bins) -> int:
    """The number of equal-width confidence bins of the ECE: a whole number >= 2 (the paper uses 15)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"n_bins={n_bins!r} is not allowed: use a whole number >= 2 (the paper uses 15)")
    return n_bins
