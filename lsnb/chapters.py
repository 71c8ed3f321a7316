"""What a chapter's first cells need: its parameters cell validated, and chapter 4's grid of configs.

:func:`setup` checks every parameter a chapter takes -- the same ones in every chapter,
plus a few of its own -- before any data is loaded, and fails with a one-line message
naming the bad parameter. :func:`distillation_setup` turns a profile's
:class:`~lsnb.profiles.DistillProfile` into the configs of the paper's sec. 4.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from .config import check_alpha, check_dataset, check_positive_int
from .profiles import Profile, alexnet_student, fcn_config, get_profile, resnet_config, student_config
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

    def describe(self) -> str:
        epochs = "each network's profile schedule" if self.epochs is None else self.epochs
        return (f"profile={self.profile.name!r} ({self.profile.device_note}), dataset={self.dataset!r}, "
                f"alpha={self.alpha}, seeds={list(self.seeds)}, epochs={epochs}")


def setup(profile="cpu", *, dataset=None, alpha=0.1, seed=0, n_seeds=None, epochs=None, runs_dir=None,
          results_dir=None, task="image") -> ChapterSetup:
    """Validate a notebook's parameters cell; fail with a one-line message naming the bad parameter.

    Every chapter takes the same parameters (and a few of its own): ``dataset`` must suit
    the chapter's ``task`` (``"image"`` classification or ``"translation"``), and the run
    store and results folders must be writable -- all checked before any data is loaded.
    """
    p = get_profile(profile)
    dataset = check_dataset(dataset if dataset is not None else p.dataset, task)
    alpha = check_alpha(alpha)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed: seed must be a whole number >= 0")
    n_seeds = check_positive_int("n_seeds", n_seeds if n_seeds is not None else p.seeds)
    epochs = check_positive_int("epochs", epochs, allow_none=True)
    writable_dir(runs_dir if runs_dir is not None else default_runs_dir(), "runs_dir", create=False)
    writable_dir(results_dir if results_dir is not None else default_results_dir(), "results_dir", create=False)
    return ChapterSetup(p, dataset, alpha, tuple(range(seed, seed + n_seeds)), epochs)


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


HINTON_TEMPERATURE = 20.0        # Hinton et al. (2015) distil the MNIST student at T = 20
FOLLOWUP_ALPHAS = (0.0, 0.1)     # Chandrasegaran et al. (2022): teachers with and without LS
MI_CLASSES = (0, 1)              # Figure 6's two classes (Fashion-MNIST: T-shirt/top vs Trouser)


def distillation_setup(profile: str, dataset: str | None = None, epochs: int | None = None) -> DistillationSetup:
    """Chapter 4's configs from the profile's :class:`~lsnb.profiles.DistillProfile`.

    The Hinton et al. experiment uses their fully connected networks everywhere (the
    teachers train longer than chapter 1's FCNs where the profile says so: dropout and
    shifts train slowly). Figures 5 and 6 use a ResNet teacher: ResNet-56 -> AlexNet on
    CIFAR-10 on ``paper`` (the paper's pair); on ``smoke``/``cpu`` the 800-800 student on
    the profile's convolutional subset of Fashion-MNIST, because the 1200-1200 FCN teacher
    is no more accurate than its student there. ``dataset`` replaces the profile's dataset
    except where the profile fixes the pair's dataset; ``epochs`` (None: the profile's
    schedules) sets that of every network.
    """
    p = get_profile(profile)
    d = p.distill
    fcn = functools.partial(fcn_config, profile, dataset=dataset, epochs=epochs or d.hinton_teacher_epochs)
    hinton_student = functools.partial(student_config, profile, dataset=dataset, epochs=epochs)
    pair_dataset = d.dataset or dataset or p.dataset
    student_recipe = {"fcn": student_config, "alexnet": alexnet_student}[d.student]

    def teacher(**kwargs):
        return resnet_config(profile, dataset=pair_dataset, depth=d.teacher_depth, epochs=epochs or d.teacher_epochs,
                             **kwargs).with_(snapshots=d.snapshots)

    def student(**kwargs):  # the teacher's training images, so that its logits are the targets
        return student_recipe(profile, dataset=pair_dataset, epochs=epochs, **kwargs).with_(n_train=p.conv_n_train)

    return DistillationSetup(
        hinton_teacher=fcn, hinton_ls_teacher=functools.partial(fcn, dropout=0.0), hinton_student=hinton_student,
        teacher=teacher, student=student, alphas=d.alphas, temperatures=d.temperatures,
        hinton_temperature=HINTON_TEMPERATURE, followup_alphas=FOLLOWUP_ALPHAS,
        followup_temperatures=d.followup_temperatures, followup_seeds=d.followup_seeds,
        mi_examples=d.mi_examples, mi_samples=d.mi_samples, mi_classes=MI_CLASSES)
