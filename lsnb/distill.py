"""Knowledge distillation (Hinton et al. 2015) and the smoothness index of Müller et al. (2019), sec. 4.

The student minimises

    (1 - beta) * H(y, p)  +  beta * H(p^t(T), p(T))

where ``p(T) = softmax(z / T)`` for the student's logits ``z`` and ``p^t(T)`` likewise for
the teacher's: the temperature divides **both** sides (the 2023 replication applied it to
one side only). The paper's experiments use ``beta = 1``. Hinton et al. multiply the soft
term by ``T^2`` so that its gradients keep their size as ``T`` grows; with ``beta = 1`` that
only rescales the learning rate, and it is off unless a config asks for it
(``distill_t2=True``). ``H(p^t, p)`` is a cross-entropy, not a KL divergence: the two differ
by the teacher's entropy, a constant for the student, so the gradients are the same.

Where the teacher's targets come from (:func:`teacher_mode`):

* ``"precomputed"`` -- the student trains on un-augmented images: the teacher's logits on the
  training set (its test-time view) are computed once and kept in the teacher's run folder;
* ``"on the fly"`` -- the student augments exactly as the teacher was trained to see images:
  the teacher scores each augmented batch the student sees;
* ``"clean view"`` -- the student augments differently (the paper's ResNet-56 -> AlexNet,
  whose inputs are 24 x 24 crops): every augmented copy of an image shares the teacher's
  logits on that image's test-time view. An approximation, said where it is used.

The last part summarises chapter 4's experiments: the Hinton et al. errors
(:func:`hinton_summary`), Figure 5's points on the gamma axis (:func:`figure5_rows`,
:func:`figure5_summary`) and the follow-up of Chandrasegaran et al. (:func:`followup_summary`),
each difference signed so that > 0 is what the paper (or the follow-up) found, with its
noise margin (:func:`lsnb.metrics.difference_and_noise`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .losses import label_smoothing_loss, soft_cross_entropy
from .metrics import difference_and_noise, mean_and_spread
from .results import verdict
from .runs import split_logits
from .store import read_json


def soft_targets(teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``p^t(T) = softmax(z^t / T)``, in float32."""
    return F.softmax(teacher_logits.float() / temperature, dim=-1)


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor, *,
                      temperature: float, beta: float = 1.0, t2: bool = False, alpha: float = 0.0) -> torch.Tensor:
    """Mean ``(1 - beta) H(y^LS, p) + beta [T^2] H(p^t(T), p(T))`` over the batch (sec. 4).

    ``alpha`` smooths the hard term's labels (eq. (1)); with ``beta = 1`` it has no effect.
    """
    soft = soft_cross_entropy(logits.float() / temperature, soft_targets(teacher_logits, temperature)).mean()
    if t2:
        soft = soft * temperature ** 2
    if beta == 1:
        return soft
    return (1 - beta) * label_smoothing_loss(logits, labels, alpha) + beta * soft


def smoothness_index(teacher_logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """The paper's gamma: ``E[ sum_k (1 - y_k) p^t_k(T) ] * K / (K - 1)`` over a set of examples (sec. 4).

    The probability the teacher puts on the wrong classes, rescaled so that label
    smoothing's targets have ``gamma = alpha``: eq. (1) puts ``alpha (K - 1) / K`` on them.
    """
    k = teacher_logits.shape[-1]
    p = soft_targets(teacher_logits, temperature)
    wrong = 1 - p.gather(-1, labels[:, None]).squeeze(-1)
    return float(wrong.double().mean() * k / (k - 1))


def teacher_mode(teacher_config, student_config) -> str:
    """How the student gets its teacher's targets: see the module docstring."""
    if student_config.augment == "none":
        return "precomputed"
    if student_config.augment == teacher_config.augment:
        return "on the fly"
    return "clean view"


def check_teacher(teacher_config, student_config) -> None:
    """A teacher must have been trained on the student's training set (same data, same split)."""
    same = ("dataset", "n_train", "n_val")
    diff = [f"{k}: teacher {getattr(teacher_config, k)!r} vs student {getattr(student_config, k)!r}"
            for k in same if getattr(teacher_config, k) != getattr(student_config, k)]
    if diff:
        raise ValueError("the teacher was trained on other data than the student's: " + "; ".join(diff))


def teacher_config(student_config, runs_dir: Path):
    """The config of the student's teacher, read from the run store; a clear error if it is not there."""
    folder = Path(runs_dir) / student_config.teacher
    if not (folder / "metrics.json").exists():
        raise FileNotFoundError(f"teacher run {student_config.teacher} is not finished in {runs_dir}: "
                                "train the teacher's config first (lsnb.train.train(teacher_config))")
    cfg = TrainConfig.from_dict(read_json(folder / "config.json"))
    check_teacher(cfg, student_config)
    return cfg


# ----------------------------------------------------------------------------- chapter 4's experiments

def error_rows(runs: dict) -> list:
    """Test error (%) of every run of every network (``{network: runs}``): one row per run."""
    return [{"network": name, "seed": r.config.seed, "test error (%)": 100 * (1 - r.metrics["test_accuracy"])}
            for name, rs in runs.items() for r in rs]


@dataclass(frozen=True)
class HintonSummary:
    """The Hinton et al. experiment (sec. 4): test errors (%) per seed of its five networks, in the
    order of :func:`lsnb.chapters.hinton_runs` -- teacher with dropout, teacher with label smoothing,
    their students, the student trained alone -- and the differences the paper's claims are about."""

    errors: dict

    def _errors(self, i: int) -> list:
        return list(self.errors.values())[i]

    @property
    def teacher_gain(self) -> tuple[float, float]:
        """The label-smoothed teacher's lower error (> 0: it is the better teacher), ± two standard errors."""
        return difference_and_noise(self._errors(0), self._errors(1))

    @property
    def student_loss(self) -> tuple[float, float]:
        """Its student's higher error (> 0: the paper's finding), ± two standard errors."""
        return difference_and_noise(self._errors(3), self._errors(2))

    @property
    def teacher_lead(self) -> tuple[float, float]:
        """The dropout teacher's lower error than the student trained alone (> 0: it knows more)."""
        return difference_and_noise(self._errors(4), self._errors(0))

    @property
    def student_sd(self) -> float:
        """The seed-to-seed spread of the student trained alone (percentage points): the noise of
        one point of Figure 5."""
        return mean_and_spread(self._errors(4))[1]


def hinton_summary(runs: dict) -> HintonSummary:
    """:class:`HintonSummary` of :func:`lsnb.chapters.hinton_runs`' networks."""
    return HintonSummary({name: [100 * (1 - r.metrics["test_accuracy"]) for r in rs] for name, rs in runs.items()})


def teacher_gamma(teacher, temperature: float = 1.0) -> float:
    """:func:`smoothness_index` of a finished teacher's targets at ``temperature`` over its training set."""
    logits, labels = split_logits(teacher, "train")
    return smoothness_index(logits, labels, temperature)


def figure5_rows(curves: dict, teachers: dict) -> list:
    """Figure 5's points from :func:`lsnb.chapters.figure5_runs`: curve, knob (alpha or T), gamma, test accuracy (%).

    gamma is the knob alpha where the targets are label-smoothed (curves (1) and (2)); for
    a student distilled at T it is the teacher's :func:`teacher_gamma` at T (curve (3): the
    hard-target teacher, ``teachers[0.0]``; curve (4): the teacher of that alpha, at T = 1).
    """
    rows = []
    for curve, points in curves.items():
        for knob, run in points:
            if curve.startswith("(3)"):
                gamma = teacher_gamma(teachers[0.0], knob)
            elif curve.startswith("(4)"):
                gamma = teacher_gamma(teachers[knob], 1.0)
            else:
                gamma = knob
            rows.append({"curve": curve, "knob": knob, "gamma": gamma, "accuracy": 100 * run.metrics["test_accuracy"]})
    return rows


def best_point(rows: list, curve: str) -> dict | None:
    """The most accurate point of the curve whose name starts with ``curve`` (the first one on a
    tie), or None when there is no such curve."""
    points = [r for r in rows if r["curve"].startswith(curve)]
    return max(points, key=lambda r: r["accuracy"]) if points else None


@dataclass(frozen=True)
class Figure5Summary:
    """The best points of Figure 5's curves (2), (3) and (4) (None: no label-smoothed teacher) and the
    paper's two claims about them. Each point is one seed: ``spread``, a seed-to-seed standard deviation
    of the student measured elsewhere (:attr:`HintonSummary.student_sd`), is the noise of each."""

    best2: dict
    best3: dict
    best4: dict | None
    spread: float

    @property
    def distill_gain(self) -> tuple[float, float]:
        """Distillation from the hard-target teacher over training the student with label smoothing."""
        return difference_and_noise([self.best3["accuracy"]], [self.best2["accuracy"]], spread=self.spread)

    @property
    def distill_verdict(self) -> str:
        return verdict(*self.distill_gain)

    @property
    def ls_teacher_gain(self) -> tuple[float, float] | None:
        """A label-smoothed teacher's student over the student trained with label smoothing."""
        if self.best4 is None:
            return None
        return difference_and_noise([self.best4["accuracy"]], [self.best2["accuracy"]], spread=self.spread)

    @property
    def ls_teachers_verdict(self) -> str:
        """"agrees" when label-smoothed teachers are no better, beyond the noise, than label smoothing."""
        gain = self.ls_teacher_gain
        return "agrees" if gain is None or gain[0] <= gain[1] else "differs"


def figure5_summary(rows: list, spread: float) -> Figure5Summary:
    """:class:`Figure5Summary` of :func:`figure5_rows`."""
    return Figure5Summary(best_point(rows, "(2)"), best_point(rows, "(3)"), best_point(rows, "(4)"), spread)


@dataclass(frozen=True)
class FollowupSummary:
    """Chandrasegaran et al.'s comparison per temperature: ``{T: (gap, noise)}``, the label-smoothed
    teacher's student minus the hard-target teacher's (percentage points, > 0: the LS teacher's is
    better) with two standard errors over seeds, in the order of the grid (T = 1 first)."""

    gaps: dict

    @property
    def first(self) -> tuple:
        """``(T, (gap, noise))`` at the grid's first temperature (T = 1 in the book's grids)."""
        return next(iter(self.gaps.items()))

    @property
    def later(self) -> list:
        """``[(T, (gap, noise))]`` at every later (larger) temperature of the grid."""
        return list(self.gaps.items())[1:]

    @property
    def helps_first(self) -> str:
        """The follow-up's finding at the first T, that the LS teacher helps: a verdict."""
        return verdict(*self.first[1])

    @property
    def hurts_later(self) -> list:
        """Its finding at each larger T, that the LS teacher hurts: one verdict per T."""
        return [verdict(-g, n) for _, (g, n) in self.later]

    @property
    def later_verdict(self) -> str:
        """"agrees" when it hurts at every larger T, "differs" when it helps at one, else "within noise"."""
        hurts = self.hurts_later
        return "agrees" if set(hurts) == {"agrees"} else "differs" if "differs" in hurts else "within noise"


def followup_summary(rows: list, alphas, temperatures) -> FollowupSummary:
    """:class:`FollowupSummary` of :func:`lsnb.chapters.followup_rows` (the teachers' ``alphas``: 0 and
    the label smoothing compared with it, the largest)."""
    ls, hard = max(alphas), 0.0

    def accuracies(T, a):
        return [r["student accuracy (%)"] for r in rows if r["T"] == T and r["teacher alpha"] == a]

    return FollowupSummary({float(T): difference_and_noise(accuracies(T, ls), accuracies(T, hard))
                            for T in temperatures})
