"""Profiles and experiment configurations, validated before any work is done.

A *profile* says how big the experiments of the book are:

* ``smoke``  -- tiny slices and one epoch: every code path in seconds (CI, golden notebooks);
* ``cpu``    -- the default: real results on Fashion-MNIST on a laptop, offline;
* ``paper``  -- the paper's data and schedules, for one GPU (Müller et al. 2019, sec. 2-4).

A :class:`TrainConfig` is everything that determines a trained model. It is frozen,
and its hash names the run directory in the run store (:mod:`lsnb.store`), so two
chapters asking for the same config share one trained model.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field

from .results import default_results_dir
from .store import default_runs_dir, writable_dir

PROFILES = ("smoke", "cpu", "paper")
DATASETS = ("fashion_mnist", "mnist", "cifar10", "cifar100")
# English->German translation corpora (lsnb.text): offline FreeDict + gettext catalogs, and Multi30k by download.
TEXT_DATASETS = ("en_de", "multi30k")
MODELS = ("fcn", "alexnet", "resnet", "transformer")
AUGMENTATIONS = ("none", "shift2", "cifar", "alexnet", "tokens")
SCHEDULES = ("constant", "piecewise", "linear")
OPTIMIZERS = ("sgd", "adam")


def check_alpha(alpha) -> float:
    """Label smoothing needs 0 <= alpha < 1 (alpha = 1 would erase the label, eq. (1) of the paper)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
        raise ValueError(f"alpha={alpha!r} is not allowed: label smoothing needs a number with 0 <= alpha < 1")
    return float(alpha)


def is_image_dataset(dataset) -> bool:
    """A torchvision image dataset name, or ``imagefolder:PATH`` for a class-per-folder copy."""
    return isinstance(dataset, str) and (dataset in DATASETS or (dataset.startswith("imagefolder:") and len(dataset) > 12))


def check_dataset(dataset, task: str | None = None) -> str:
    """An image dataset (``task="image"``), a translation corpus (``task="translation"``), or either (None)."""
    image_ok = task in (None, "image") and is_image_dataset(dataset)
    text_ok = task in (None, "translation") and dataset in TEXT_DATASETS
    if image_ok or text_ok:
        return dataset
    images = f"one of {', '.join(DATASETS)} or 'imagefolder:PATH'"
    if task == "image" and dataset in TEXT_DATASETS:
        raise ValueError(f"dataset={dataset!r} is a translation corpus (chapter 3b, model 'transformer'), "
                         f"but this classifies images: use {images}")
    if task == "translation" and is_image_dataset(dataset):
        raise ValueError(f"dataset={dataset!r} is an image dataset, but the Transformer translates: "
                         f"use one of {', '.join(TEXT_DATASETS)}")
    known = {"image": images, "translation": f"one of {', '.join(TEXT_DATASETS)}"}.get(
        task, f"one of {', '.join(DATASETS + TEXT_DATASETS)} or 'imagefolder:PATH'")
    raise ValueError(f"dataset={dataset!r} is unknown: use {known}")


def check_profile(profile) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is unknown: use one of {', '.join(PROFILES)}")
    return profile


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be a positive whole number")
    return value


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is unknown: use one of {', '.join(map(str, choices))}")
    return value


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (model, data, loss, optimiser, schedule).

    ``milestones`` are fractions of the whole training at which the learning rate is
    multiplied by ``lr_decay`` (piecewise schedule). ``model_args`` is a tuple of
    ``(name, value)`` pairs so that the config stays hashable; read it with
    :attr:`model_kwargs`.
    """

    model: str
    dataset: str
    alpha: float = 0.0
    seed: int = 0
    epochs: int = 1
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    milestones: tuple = ()
    lr_decay: float = 0.1
    grad_clip: float | None = None
    augment: str = "none"
    n_train: int | None = None
    n_val: int = 0
    n_test: int | None = None
    model_args: tuple = field(default_factory=tuple)
    # Knowledge distillation (sec. 4, lsnb.distill): the teacher is named by its config's
    # digest (its folder in the same run store); beta weighs the soft term.
    teacher: str | None = None
    distill_temperature: float = 1.0
    distill_beta: float = 1.0
    distill_t2: bool = False
    # Weight snapshots at this many evenly spaced steps (plus step 0), for quantities
    # tracked over training such as the mutual information of Figure 6 (lsnb.info).
    snapshots: int = 0
    # Linear learning-rate warm-up over this fraction of training (the Transformer's).
    warmup: float = 0.0

    def __post_init__(self):
        _check_choice("model", self.model, MODELS)
        check_dataset(self.dataset, "translation" if self.model == "transformer" else "image")
        check_alpha(self.alpha)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} is not allowed: seed must be a whole number >= 0")
        _check_positive_int("epochs", self.epochs)
        _check_positive_int("batch_size", self.batch_size)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not allowed: the learning rate must be > 0")
        _check_choice("schedule", self.schedule, SCHEDULES)
        if any(not 0 < m < 1 for m in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise ValueError(f"milestones={self.milestones!r} must be increasing fractions of training in (0, 1)")
        _check_choice("augment", self.augment, AUGMENTATIONS)
        _check_positive_int("n_train", self.n_train, allow_none=True)
        _check_positive_int("n_test", self.n_test, allow_none=True)
        if isinstance(self.n_val, bool) or not isinstance(self.n_val, int) or self.n_val < 0:
            raise ValueError(f"n_val={self.n_val!r} is not allowed: n_val must be a whole number >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip={self.grad_clip!r} is not allowed: use None or a number > 0")
        if self.teacher is not None and not (isinstance(self.teacher, str) and len(self.teacher) == 16):
            raise ValueError(f"teacher={self.teacher!r} is not allowed: name the teacher by its config's digest()")
        if not (isinstance(self.distill_temperature, (int, float)) and self.distill_temperature > 0):
            raise ValueError(f"distill_temperature={self.distill_temperature!r} is not allowed: it must be > 0")
        if not (isinstance(self.distill_beta, (int, float)) and 0 <= self.distill_beta <= 1):
            raise ValueError(f"distill_beta={self.distill_beta!r} is not allowed: it must be in [0, 1]")
        if not (isinstance(self.warmup, (int, float)) and 0 <= self.warmup < 1):
            raise ValueError(f"warmup={self.warmup!r} is not allowed: a fraction of training in [0, 1)")
        if isinstance(self.snapshots, bool) or not isinstance(self.snapshots, int) or self.snapshots < 0:
            raise ValueError(f"snapshots={self.snapshots!r} is not allowed: use a whole number >= 0")

    @property
    def model_kwargs(self) -> dict:
        return dict(self.model_args)

    def to_dict(self) -> dict:
        """Plain JSON types (tuples become lists), as stored in ``config.json``.

        The distillation and snapshot fields are left out while they hold their
        defaults, so configs written before they existed keep their digest (and runs).
        """
        d = json.loads(json.dumps(dataclasses.asdict(self)))
        for name, default in _OPTIONAL_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["milestones"] = tuple(d.get("milestones", ()))
        d["model_args"] = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in d.get("model_args", ()))
        return cls(**d)

    def digest(self) -> str:
        """A short, stable hash of the full config: the name of its run directory."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


_OPTIONAL_FIELDS = {"teacher": None, "distill_temperature": 1.0, "distill_beta": 1.0, "distill_t2": False,
                    "snapshots": 0, "warmup": 0.0}


@dataclass(frozen=True)
class Profile:
    """How big the book's experiments are (see the module docstring)."""

    name: str
    dataset: str
    seeds: int
    epochs: int
    n_train: int | None
    n_val: int
    n_test: int | None
    fcn_hidden: int
    student_hidden: int
    alphas: tuple
    device_note: str
    alexnet_dataset: str
    alexnet_epochs: int
    resnet_dataset: str
    resnet_depth: int
    resnet_epochs: int
    conv_n_train: int | None


# The cpu profile's convolutional nets: sized so that chapter 2 trains in minutes on 2 cores.
CPU_ALEXNET_EPOCHS, CPU_RESNET_DEPTH, CPU_RESNET_EPOCHS, CPU_CONV_N_TRAIN = 5, 20, 5, 20000

PROFILE_TABLE = {
    "smoke": Profile("smoke", "fashion_mnist", seeds=2, epochs=1, n_train=2000, n_val=500, n_test=1000,
                     fcn_hidden=64, student_hidden=48, alphas=(0.0, 0.1), device_note="any CPU, seconds",
                     alexnet_dataset="fashion_mnist", alexnet_epochs=1,
                     resnet_dataset="fashion_mnist", resnet_depth=8, resnet_epochs=1, conv_n_train=2000),
    "cpu": Profile("cpu", "fashion_mnist", seeds=3, epochs=8, n_train=None, n_val=5000, n_test=None,
                   fcn_hidden=1200, student_hidden=800, alphas=(0.0, 0.05, 0.1, 0.2), device_note="2-core CPU, minutes",
                   alexnet_dataset="fashion_mnist", alexnet_epochs=CPU_ALEXNET_EPOCHS,
                   resnet_dataset="fashion_mnist", resnet_depth=CPU_RESNET_DEPTH, resnet_epochs=CPU_RESNET_EPOCHS,
                   conv_n_train=CPU_CONV_N_TRAIN),
    # The paper's settings: the TF tutorial AlexNet on CIFAR-10 and the TF official
    # ResNet-56 v2 on CIFAR-100 (182 epochs, lr x0.1 at epochs 91 and 136).
    "paper": Profile("paper", "mnist", seeds=5, epochs=60, n_train=None, n_val=5000, n_test=None,
                     fcn_hidden=1200, student_hidden=800, alphas=(0.0, 0.05, 0.1, 0.2), device_note="one GPU",
                     alexnet_dataset="cifar10", alexnet_epochs=256,
                     resnet_dataset="cifar100", resnet_depth=56, resnet_epochs=182, conv_n_train=None),
}


def get_profile(name: str) -> Profile:
    return PROFILE_TABLE[check_profile(name)]


def fcn_config(profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
               epochs: int | None = None, hidden: int | None = None, dropout: float = 0.5,
               augment: str = "shift2") -> TrainConfig:
    """The 784-1200-1200-10 FCN of Hinton et al. (2015) as the paper's sec. 4 trains it.

    Dropout 0.5 on the hidden layers and random +/-2 px shifts (the teacher's
    regularisation); SGD with momentum 0.9 and a learning rate that decays
    linearly to zero.
    """
    p = get_profile(profile)
    return TrainConfig(
        model="fcn", dataset=check_dataset(dataset or p.dataset), alpha=check_alpha(alpha), seed=seed,
        epochs=_check_positive_int("epochs", epochs or p.epochs), batch_size=128,
        optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0,
        schedule="linear", augment=augment,
        n_train=p.n_train, n_val=p.n_val, n_test=p.n_test,
        model_args=(("hidden", (hidden or p.fcn_hidden,) * 2), ("dropout", dropout)),
    )


def alexnet_config(profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
                   epochs: int | None = None) -> TrainConfig:
    """The TF cifar10 tutorial's AlexNet as the paper trains it (sec. 2, Table 2).

    Batch 128, SGD with learning rate 0.1 (the tutorial uses no momentum), L2 decay
    0.004 on the two hidden dense layers only, 24 x 24 random crops with flips,
    brightness and contrast, per-image standardisation. The tutorial keeps lr 0.1 for
    350 epochs; we drop it x0.1 at 50 % and 75 % of a shorter schedule.
    """
    p = get_profile(profile)
    return TrainConfig(
        model="alexnet", dataset=check_dataset(dataset or p.alexnet_dataset), alpha=check_alpha(alpha), seed=seed,
        epochs=_check_positive_int("epochs", epochs or p.alexnet_epochs), batch_size=128,
        optimizer="sgd", lr=0.1, momentum=0.0, weight_decay=0.004,
        schedule="piecewise", milestones=(0.5, 0.75), lr_decay=0.1, augment="alexnet",
        n_train=p.conv_n_train, n_val=p.n_val, n_test=p.n_test)


def resnet_config(profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
                  epochs: int | None = None, depth: int | None = None) -> TrainConfig:
    """ResNet v2 as the TF official CIFAR model trains it (sec. 2, Table 2: ResNet-56 on CIFAR-100).

    SGD momentum 0.9, lr 0.1, batch 128, weight decay 2e-4 on all but batch-norm
    parameters, lr x0.1 at epochs 91 and 136 of 182 (fractions 0.5 and 0.75 of any
    schedule), pad-4 random crops and flips, per-image standardisation. Batch-norm
    statistics average with TF's decay 0.997 on the paper's 70k-step schedule and with
    0.9 on the short ones.
    """
    p = get_profile(profile)
    return TrainConfig(
        model="resnet", dataset=check_dataset(dataset or p.resnet_dataset), alpha=check_alpha(alpha), seed=seed,
        epochs=_check_positive_int("epochs", epochs or p.resnet_epochs), batch_size=128,
        optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=2e-4,
        schedule="piecewise", milestones=(0.5, 0.75), lr_decay=0.1, augment="cifar",
        n_train=p.conv_n_train, n_val=p.n_val, n_test=p.n_test,
        model_args=(("depth", depth or p.resnet_depth), ("bn_decay", 0.997 if profile == "paper" else 0.9)))


# With T^2 scaling the soft loss at high T is close to a squared error between logits (Hinton et
# al. 2015, sec. 2.1), whose gradients grow with the teacher's logits: at T = 20 the 800-800
# student's gradient norm went from ~5 to 1e9 within 300 steps at lr 0.05 (NaN loss). Clipping
# every student at 5 (the labels' cross-entropy never reached 4 there; 3 % of the T = 20 steps
# are clipped) keeps the students comparable and stable.
STUDENT_GRAD_CLIP = 5.0


def student_config(profile: str, *, teacher: TrainConfig | None = None, temperature: float = 1.0,
                   alpha: float = 0.0, seed: int = 0, epochs: int | None = None,
                   dataset: str | None = None) -> TrainConfig:
    """The 784-800-800-10 student of Hinton et al. (2015): no dropout, no shifts (sec. 4; smaller on ``smoke``).

    Trained on the hard labels (with label smoothing ``alpha``), or, given a ``teacher``
    config, distilled from it at ``temperature`` with beta = 1 (the paper's choice).
    Gradient norms are clipped at :data:`STUDENT_GRAD_CLIP` (see there).
    """
    hidden = get_profile(profile).student_hidden
    return _student(fcn_config(profile, dataset=dataset, alpha=alpha, seed=seed, epochs=epochs, hidden=hidden,
                               dropout=0.0, augment="none"), teacher, temperature)


def alexnet_student(profile: str, *, teacher: TrainConfig | None = None, temperature: float = 1.0,
                    alpha: float = 0.0, seed: int = 0, epochs: int | None = None,
                    dataset: str | None = None) -> TrainConfig:
    """The AlexNet student of the paper's Figure 5 (sec. 4: ResNet-56 -> AlexNet on CIFAR-10).

    Trained on the labels (with label smoothing ``alpha``), or distilled from ``teacher``
    at ``temperature`` with beta = 1, as :func:`student_config`.
    """
    return _student(alexnet_config(profile, dataset=dataset, alpha=alpha, seed=seed, epochs=epochs),
                    teacher, temperature)


def _student(cfg: TrainConfig, teacher: TrainConfig | None, temperature: float) -> TrainConfig:
    """What every student shares: clipped gradients, and distillation when it has a teacher."""
    cfg = cfg.with_(grad_clip=STUDENT_GRAD_CLIP)
    return cfg if teacher is None else distilled(cfg, teacher, temperature)


def distilled(student: TrainConfig, teacher: TrainConfig, temperature: float) -> TrainConfig:
    """``student`` trained on ``teacher``'s soft targets at ``temperature`` instead of the labels.

    beta = 1 as in the paper's sec. 4, and the soft term multiplied by T^2 as Hinton et al.
    (2015) do, so that students distilled at different temperatures take steps of the
    same size (with beta = 1 this is a learning-rate factor).
    """
    return student.with_(teacher=teacher.digest(), distill_temperature=float(temperature), distill_beta=1.0,
                         distill_t2=True, alpha=0.0)


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


DISTILL_CPU_TEACHER_EPOCHS = 20   # the Hinton et al. FCN teachers (dropout and shifts train slowly)
DISTILL_CPU_RESNET_EPOCHS = 10    # the Figure 5 / Figure 6 ResNet-20 teachers: about 4 minutes each


def distillation_setup(profile: str, dataset: str | None = None, epochs: int | None = None) -> DistillationSetup:
    """Chapter 4's configs: Fashion-MNIST on ``smoke``/``cpu``; MNIST and CIFAR-10 on ``paper``.

    The Hinton et al. experiment uses their fully connected networks everywhere. Figures 5
    and 6 use a convolutional teacher: ResNet-56 -> AlexNet on CIFAR-10 on ``paper`` (the
    paper's pair), ResNet-20 (ResNet-8 on ``smoke``) -> the 800-800 student on the
    profile's convolutional subset of Fashion-MNIST on ``cpu``: the 1200-1200 FCN teacher
    is no more accurate than its student there. ``dataset`` replaces the profile's dataset
    for all but the paper's CIFAR-10 pair; ``epochs`` (None: the profile's schedules) that of every network.
    """
    check_profile(profile)
    p = get_profile(profile)
    n_snapshots = {"smoke": 2, "cpu": 12, "paper": 40}[profile]
    # Teachers train longer than chapter 1's FCNs: on cpu, 8 epochs of dropout and shifts leave
    # the 1200-1200 net far below an unregularised 800-800 student.
    teacher_epochs = epochs or (DISTILL_CPU_TEACHER_EPOCHS if profile == "cpu" else None)
    fcn = functools.partial(fcn_config, profile, dataset=dataset, epochs=teacher_epochs)
    student = functools.partial(student_config, profile, dataset=dataset, epochs=epochs)
    hinton = dict(hinton_teacher=fcn, hinton_ls_teacher=functools.partial(fcn, dropout=0.0),
                  hinton_student=student)
    # Hinton et al. distil the MNIST student at T = 20; Chandrasegaran et al.'s grid.
    followup = dict(hinton_temperature=20.0, followup_alphas=(0.0, 0.1),
                    followup_temperatures=(1.0, 3.0) if profile == "smoke" else (1.0, 2.0, 3.0, 8.0))
    if profile == "paper":
        def resnet_teacher(**kwargs):
            return resnet_config(profile, dataset="cifar10", depth=56, epochs=epochs,
                                 **kwargs).with_(snapshots=n_snapshots)

        return DistillationSetup(
            **hinton, **followup,
            teacher=resnet_teacher,
            student=functools.partial(alexnet_student, profile, dataset="cifar10", epochs=epochs),
            alphas=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6), temperatures=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
            followup_seeds=3, mi_examples=600, mi_samples=100, mi_classes=(0, 1))

    resnet_epochs = epochs or (DISTILL_CPU_RESNET_EPOCHS if profile == "cpu" else None)

    def conv_teacher(**kwargs):
        return resnet_config(profile, dataset=dataset or p.dataset, epochs=resnet_epochs,
                             **kwargs).with_(snapshots=n_snapshots)

    def subset_student(**kwargs):  # the teacher's training images, so that its logits are the targets
        return student(**kwargs).with_(n_train=p.conv_n_train)

    return DistillationSetup(
        **hinton, **followup, teacher=conv_teacher, student=subset_student, followup_seeds=2,
        alphas=(0.0, 0.05, 0.1, 0.2) if profile == "cpu" else (0.0, 0.1),
        temperatures=(1.0, 2.0, 3.0, 4.0, 8.0) if profile == "cpu" else (1.0, 3.0),
        mi_examples=600 if profile == "cpu" else 60, mi_samples=32 if profile == "cpu" else 8,
        mi_classes=(0, 1))  # T-shirt/top vs Trouser


def transformer_config(profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
                       epochs: int | None = None) -> TrainConfig:
    """The encoder-decoder Transformer of the translation chapter (Vaswani et al. 2017; paper sec. 3).

    Adam with linear warm-up then linear decay, gradient clipping at 1, dropout 0.1,
    label smoothing ``alpha`` on the next-token targets (padding excluded). ``cpu``: a
    small model on the offline English->German corpus (lsnb.text); ``paper``: a
    Transformer-base-sized model on Multi30k (WMT14, the paper's data, is out of reach
    of one GPU in hours).
    """
    p = get_profile(profile)
    dataset = dataset or ("multi30k" if p.name == "paper" else "en_de")
    if dataset not in TEXT_DATASETS:
        raise ValueError(f"dataset={dataset!r} is not a translation corpus: use one of {', '.join(TEXT_DATASETS)}")
    size = {"smoke": dict(d_model=64, heads=2, layers=1, ffn=128),
            "cpu": dict(d_model=256, heads=4, layers=2, ffn=1024),
            "paper": dict(d_model=512, heads=8, layers=6, ffn=2048)}[p.name]
    default_epochs, n = {"smoke": (1, (2000, 100, 100)), "cpu": (TRANSLATION_CPU_EPOCHS, (None, 1000, 1000)),
                         "paper": (30, (None, 1014, None))}[p.name]
    return TrainConfig(
        model="transformer", dataset=dataset, alpha=check_alpha(alpha),
        seed=seed, epochs=_check_positive_int("epochs", epochs or default_epochs),
        batch_size=64 if p.name != "paper" else 128, optimizer="adam", lr=7e-4 if p.name != "paper" else 5e-4,
        schedule="linear", warmup=0.05, grad_clip=1.0, augment="tokens",
        n_train=n[0], n_val=n[1], n_test=n[2], model_args=tuple(size.items()) + (("dropout", 0.1),))


TRANSLATION_CPU_EPOCHS = 1  # one pass over 130k pairs: about 3 minutes per model on 2 cores
# The temperatures of the translation chapter's Figure 4 (beam search at each).
TRANSLATION_TEMPERATURES = {"smoke": (0.8, 1.0), "cpu": (0.6, 0.8, 1.0, 1.2, 1.4, 1.7),
                            "paper": (0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7)}


# The networks of the paper's Table 2 (and the FCN of chapter 1), by the name the book uses.
TABLE2_MODELS = {"FCN": fcn_config, "AlexNet": alexnet_config, "ResNet": resnet_config}


def configs(builder, profile: str, *, dataset: str | None, alphas, seeds, epochs: int | None = None) -> list:
    """One config per (alpha, seed) for a model builder such as :func:`alexnet_config` (``epochs``: None for its
    profile's schedule)."""
    return [builder(profile, dataset=dataset, alpha=a, seed=s, epochs=epochs) for a in alphas for s in seeds]


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
    n_seeds = _check_positive_int("n_seeds", n_seeds if n_seeds is not None else p.seeds)
    epochs = _check_positive_int("epochs", epochs, allow_none=True)
    writable_dir(runs_dir if runs_dir is not None else default_runs_dir(), "runs_dir", create=False)
    writable_dir(results_dir if results_dir is not None else default_results_dir(), "results_dir", create=False)
    return ChapterSetup(p, dataset, alpha, tuple(range(seed, seed + n_seeds)), epochs)
