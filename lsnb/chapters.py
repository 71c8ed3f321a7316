"""What a chapter's first cells need: its parameters cell validated, and the runs it trains.

:func:`setup` checks every parameter a chapter takes -- the same ones in every chapter,
plus a few of its own -- before any data is loaded, and fails with a one-line message
naming the bad parameter. :func:`table2_runs` trains (or loads) the networks of the
paper's Table 2 and their sweep over alpha, which chapters 2 and 3 share;
:func:`translation_setup` is chapter 3b's parameters cell; :func:`distillation_setup`
turns a profile's :class:`~lsnb.profiles.DistillProfile` into the configs of the paper's
sec. 4 and :func:`hinton_runs`, :func:`figure5_runs` and :func:`followup_rows` train them.
"""
from __future__ import annotations

import ast
import difflib
import functools
import os
import platform
import time
from dataclasses import dataclass, field

from . import grid, train
from .book import pm
from .config import check_alpha, check_dataset, check_positive_int, check_settings
from .metrics import SeedComparison
from .profiles import (TABLE2_MODELS, Profile, alexnet_student, configs, fcn_config, get_profile, resnet_config,
                       student_config, transformer_config)
from .results import default_results_dir
from .store import default_runs_dir, writable_dir


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
        epochs = "each network's profile schedule" if self.epochs is None else self.epochs
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

    from .runs import default_device
    device = default_device()
    if device.type == "cuda":
        where = f"GPU {torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}"
    else:
        where = f"CPU {_cpu_model()}, {os.cpu_count()} cores"
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


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_n_bins(n_bins) -> int:
    """The number of equal-width confidence bins of the ECE: a whole number >= 2 (the paper uses 15)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"n_bins={n_bins!r} is not allowed: use a whole number >= 2 (the paper uses 15)")
    return n_bins


# ----------------------------------------------------------------------------- chapters 2 and 3: Table 2


@dataclass(frozen=True)
class Table2Runs:
    """The networks of the paper's Table 2 (sec. 2), trained with hard targets and with label smoothing.

    ``table2``: ``{model name: runs}`` with ``alphas`` = (0, the chapter's alpha) and every seed,
    for the models of :data:`lsnb.profiles.TABLE2_MODELS`; ``sweep``: ``{model name: runs}``
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
        return [100 * r.history[-1]["train_accuracy"]
                for r in sorted(self.table2[model], key=lambda r: r.config.seed) if r.config.alpha == 0]

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
    dataset (:func:`lsnb.profiles.alexnet_config` and :func:`~lsnb.profiles.resnet_config`
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


def calibration_runs(setup: ChapterSetup, table2: Table2Runs, dataset: str | None = None, runs_dir=None) -> dict:
    """Chapter 3's runs, ``{model: runs}``: Table 2's, plus label smoothing at the profile's
    ``calibration_alphas`` on every seed for its ``calibration_models``, so that alpha is chosen on
    validation as temperature scaling's T is fitted there (:func:`lsnb.temperature.table3`)."""
    extra = tuple(a for a in setup.profile.calibration_alphas if a not in table2.alphas)
    out = {}
    for model, rs in table2.table2.items():
        more = []
        if extra and model in setup.profile.calibration_models:
            more = grid.train_many(configs(model, setup.profile.name, dataset=dataset, alphas=extra,
                                           seeds=setup.seeds, epochs=setup.epochs), runs_dir=runs_dir)
        out[model] = list(rs) + list(more)
    return out


# ----------------------------------------------------------------------------- chapter 3b

def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN


def check_temperatures(temperatures) -> list | None:
    """Figure 4's temperature grid: None (the profile's), or a list of positive numbers that includes 1.0."""
    if temperatures is None:
        return None
    if (not isinstance(temperatures, (list, tuple)) or not temperatures
            or not all(_is_number(t) and t > 0 for t in temperatures) or 1.0 not in temperatures):
        raise ValueError(f"temperatures={temperatures!r} is not allowed: use None (the profile's grid) or a list of "
                         "positive numbers that includes 1.0, e.g. [0.8, 1.0, 1.2]")
    return [float(t) for t in temperatures]


def check_beam(beam, length_penalty) -> tuple[int, float]:
    """Beam search's width (a whole number >= 1) and length penalty (a number >= 0; Vaswani et al. use 0.6)."""
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ValueError(f"beam={beam!r} is not allowed: use a whole number >= 1 (1 is greedy search; the paper's "
                         "Transformer uses 4)")
    if not _is_number(length_penalty) or length_penalty < 0:
        raise ValueError(f"length_penalty={length_penalty!r} is not allowed: use a number >= 0 (0: none; "
                         "Wu et al. and Vaswani et al. use 0.6)")
    return beam, float(length_penalty)


def translation_setup(profile="cpu", *, dataset=None, alpha=0.1, seed=0, n_seeds=None, epochs=None, runs_dir=None,
                      results_dir=None, temperatures=None, n_bins=15, beam=4,
                      length_penalty=0.6) -> tuple[ChapterSetup, list, dict]:
    """Chapter 3b's parameters cell: ``(setup, grid, configs)``, every parameter checked before any work.

    The common parameters as :func:`setup` checks them (``dataset`` None: the profile's
    translation corpus); ``grid``: Figure 4's temperatures (:func:`check_temperatures`);
    ``n_bins`` as :func:`check_n_bins`; ``beam`` and ``length_penalty`` as :func:`check_beam`;
    ``configs``: ``{alpha: [one Transformer config per seed]}`` for hard targets (0) and ``alpha``.
    """
    base = transformer_config(profile, dataset=dataset)
    s = setup(profile, dataset=base.dataset, alpha=alpha, seed=seed, n_seeds=n_seeds, epochs=epochs,
              runs_dir=runs_dir, results_dir=results_dir, task="translation")
    grid = check_temperatures(temperatures) or list(s.profile.translation.temperatures)
    check_n_bins(n_bins)
    check_beam(beam, length_penalty)
    by_alpha = {a: [transformer_config(profile, dataset=dataset, alpha=a, seed=i, epochs=s.epochs) for i in s.seeds]
                for a in (0.0, s.alpha)}
    return s, grid, by_alpha


# ----------------------------------------------------------------------------- chapter 4

@dataclass(frozen=True)
class DistillationSetup:
    """The networks and grids of chapter 4 (sec. 4 of the paper) for one profile.

    ``hinton_*``: the MNIST experiment of Hinton et al. (teacher with dropout and shifts;
    the same teacher with label smoothing instead of dropout; the 800-800 student).
    ``teacher``/``student``: the Figure 5 pair (paper: ResNet-56 -> AlexNet on CIFAR-10),
    as functions ``(alpha=, seed=) -> TrainConfig``. ``mi_*``: Figure 6.
    """

    hinton_teacher: object
    hinton_ls_teacher: object
    hinton_student: object
    teacher: object
    student: object
    alphas: tuple
    temperatures: tuple
    hinton_temperature: float
    followup_alphas: tuple
    followup_temperatures: tuple
    followup_seeds: int
    mi_examples: int
    mi_samples: int
    mi_classes: tuple
    mi_sample_counts: tuple
    mi_augment: str | None = None    # Figure 6's noise (None: each teacher's training augmentation)


HINTON_TEMPERATURE = 20.0        # Hinton et al. (2015) distil the MNIST student at T = 20
FOLLOWUP_ALPHAS = (0.0, 0.1)     # Chandrasegaran et al. (2022): teachers with and without LS
MI_CLASSES = (0, 1)              # Figure 6's two classes (Fashion-MNIST: T-shirt/top vs Trouser)


def distillation_setup(profile: str, dataset: str | None = None, epochs: int | None = None) -> DistillationSetup:
    """Chapter 4's configs from the profile's :class:`~lsnb.profiles.DistillProfile`.

    The Hinton et al. experiment uses their fully connected networks everywhere (the
    teachers train longer than chapter 1's FCNs where the profile says so: dropout and
    shifts train slowly; the LS teacher, without dropout, for fewer epochs where the profile
    says so, so that the two teachers' accuracies match). Figures 5 and 6 use a ResNet teacher: ResNet-56 -> AlexNet on
    CIFAR-10 on ``paper`` (the paper's pair); on ``smoke``/``cpu`` the 800-800 student on
    the profile's convolutional subset of Fashion-MNIST, because the 1200-1200 FCN teacher
    is no more accurate than its student there. ``dataset`` replaces the profile's dataset
    except where the profile fixes the pair's dataset; ``epochs`` (None: the profile's
    schedules) sets that of every network.
    """
    p = get_profile(profile)
    d = p.distill
    fcn = functools.partial(fcn_config, profile, dataset=dataset, epochs=epochs or d.hinton_teacher_epochs)
    def hinton_student(**kwargs):  # on the first hinton_student_n_train of the teachers' images (None: all)
        cfg = student_config(profile, dataset=dataset, epochs=epochs or d.hinton_student_epochs, **kwargs)
        return cfg.with_(n_train=d.hinton_student_n_train or cfg.n_train)

    pair_dataset = d.dataset or dataset or p.dataset
    student_recipe = {"fcn": student_config, "alexnet": alexnet_student}[d.student]

    def teacher(**kwargs):
        cfg = resnet_config(profile, dataset=pair_dataset, depth=d.teacher_depth, epochs=epochs or d.teacher_epochs,
                            **kwargs).with_(snapshots=d.snapshots)
        return cfg.with_(augment=d.teacher_augment) if d.teacher_augment else cfg

    def student(**kwargs):  # the first student_n_train of the teacher's images, where its logits are the targets
        return student_recipe(profile, dataset=pair_dataset, epochs=epochs or d.student_epochs,
                              **kwargs).with_(n_train=d.student_n_train or p.conv_n_train)

    return DistillationSetup(
        hinton_teacher=fcn, hinton_student=hinton_student,
        hinton_ls_teacher=functools.partial(fcn, dropout=0.0, epochs=epochs or d.hinton_ls_teacher_epochs
                                            or d.hinton_teacher_epochs),
        teacher=teacher, student=student, alphas=d.alphas, temperatures=d.temperatures,
        hinton_temperature=HINTON_TEMPERATURE, followup_alphas=FOLLOWUP_ALPHAS,
        followup_temperatures=d.followup_temperatures, followup_seeds=d.followup_seeds,
        mi_examples=d.mi_examples, mi_samples=d.mi_samples, mi_classes=MI_CLASSES,
        mi_sample_counts=d.mi_sample_counts, mi_augment=d.mi_augment)


def hinton_runs(ds: DistillationSetup, alpha: float, seeds, runs_dir=None) -> dict:
    """The Hinton et al. experiment (sec. 4), trained or loaded: ``{network: runs, one per seed}``.

    The teacher with dropout and its twin with label smoothing ``alpha`` instead of
    dropout, each one's student distilled at ``ds.hinton_temperature``, and the student
    trained on the labels alone, in that order.
    """
    teachers = {"teacher (dropout)": [ds.hinton_teacher(alpha=0.0, seed=s) for s in seeds],
                f"teacher (LS {alpha:g}, no dropout)": [ds.hinton_ls_teacher(alpha=alpha, seed=s) for s in seeds]}
    runs = {name: grid.train_many(cfgs, runs_dir=runs_dir) for name, cfgs in teachers.items()}
    for name, cfgs in teachers.items():
        runs[f"student of {name}"] = grid.train_many(
            [ds.hinton_student(teacher=c, temperature=ds.hinton_temperature, seed=c.seed) for c in cfgs],
            runs_dir=runs_dir)
    runs["student alone (labels)"] = grid.train_many([ds.hinton_student(seed=s) for s in seeds], runs_dir=runs_dir)
    return runs


def figure5_runs(ds: DistillationSetup, seeds, runs_dir=None) -> tuple[dict, dict]:
    """Figure 5's networks (sec. 4) on every seed, trained or loaded: ``(teachers, curves)``.

    ``teachers``: ``{(alpha, seed): run}`` of the teacher trained with label smoothing alpha;
    ``curves``: ``{curve: [(knob, run)]}`` for the paper's four curves -- (1) those
    teachers (knob alpha), (2) the student trained with label smoothing alpha, (3) the
    student distilled from the hard-target teacher of its seed at temperature T (knob T),
    (4) the student distilled at T = 1 from each label-smoothed teacher (knob: its alpha).
    """
    keys = [(a, s) for a in ds.alphas for s in seeds]
    teachers = dict(zip(keys, grid.train_many([ds.teacher(alpha=a, seed=s) for a, s in keys], runs_dir=runs_dir)))
    plans = {"(2) student, LS alpha": [(a, ds.student(alpha=a, seed=s)) for a in ds.alphas for s in seeds],
             "(3) student of hard teacher at T": [(T, ds.student(teacher=teachers[(0.0, s)].config, temperature=T,
                                                                  seed=s)) for T in ds.temperatures for s in seeds],
             "(4) student of LS teacher, T = 1": [(a, ds.student(teacher=teachers[(a, s)].config, temperature=1.0,
                                                                  seed=s)) for a in ds.alphas if a > 0 for s in seeds]}
    trained = grid.train_many([cfg for plan in plans.values() for _, cfg in plan], runs_dir=runs_dir)
    curves, i = {"(1) teacher, LS alpha": [(a, run) for (a, _), run in teachers.items()]}, 0
    for name, plan in plans.items():
        curves[name] = [(knob, run) for (knob, _), run in zip(plan, trained[i:i + len(plan)])]
        i += len(plan)
    return teachers, curves


def followup_rows(ds: DistillationSetup, seeds, runs_dir=None) -> list:
    """The follow-up of Chandrasegaran et al. (2022) at small scale, trained or loaded: one row per student.

    Teachers with each of ``ds.followup_alphas`` (the first ``ds.followup_seeds`` seeds),
    each distilled into the student at each of ``ds.followup_temperatures``; a row holds
    the teacher's alpha, T, the seed and the student's test accuracy (%).
    """
    plan = [(a, T, ds.teacher(alpha=a, seed=s)) for a in ds.followup_alphas for T in ds.followup_temperatures
            for s in seeds[:ds.followup_seeds]]
    grid.train_many(list({t.digest(): t for _, _, t in plan}.values()), runs_dir=runs_dir)
    students = grid.train_many([ds.student(teacher=t, temperature=T, seed=t.seed) for _, T, t in plan],
                               runs_dir=runs_dir)
    return [{"teacher alpha": a, "T": T, "seed": t.seed, "student accuracy (%)": 100 * run.metrics["test_accuracy"]}
            for (a, T, t), run in zip(plan, students)]
