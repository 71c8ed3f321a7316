"""The experiment config: everything that determines a trained model, validated on construction.

A :class:`TrainConfig` is frozen, and its hash (:meth:`TrainConfig.digest`) names the
run's folder in the run store (:mod:`lsnb.engine.store`), so two chapters asking for the same
config share one trained model. Bad values fail here, with a message naming the field,
before any data is loaded.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field

from ..data.names import check_dataset

# The book's networks by name, with the task each one does (lsnb.engine.tasks); the classes are lsnb.models.registry.ARCHITECTURES.
MODELS = {"fcn": "image", "alexnet": "image", "resnet": "image", "transformer": "translation"}
AUGMENTATIONS = ("none", "shift2", "cifar", "alexnet", "tokens")
SCHEDULES = ("constant", "piecewise", "linear")
OPTIMIZERS = ("sgd", "adam")


# The environment settings lsnb reads, checked where they are read and up front by every chapter's setup, so
# that a typo fails in the first cell with what to write instead, never after an hour of training.
PRECISIONS = {"auto": "bf16 autocast on GPUs of compute capability 8.0 and up and on CPUs with native bf16, "
                      "fp16 autocast with a gradient scaler on older GPUs (T4, V100, P100), else fp32",
              "fp32": "full precision everywhere",
              "fp16": "fp16 autocast with a gradient scaler on any device (as auto does on older GPUs)"}


def precision_setting() -> str:
    """``$LSNB_PRECISION``: ``"auto"`` (the default), ``"fp32"`` or ``"fp16"``; anything else is an error that
    names them (:data:`PRECISIONS`)."""
    value = os.environ.get("LSNB_PRECISION", "auto")
    if value not in PRECISIONS:
        allowed = "; ".join(f"{name!r}: {what}" for name, what in PRECISIONS.items())
        raise ValueError(f"LSNB_PRECISION={value!r} is not a precision lsnb trains in: unset it or use {allowed}")
    return value


def workers_setting() -> int | None:
    """``$LSNB_WORKERS``: how many configs to train at once, a whole number >= 1 (None where it is unset)."""
    value = os.environ.get("LSNB_WORKERS", "")
    if not value:
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"LSNB_WORKERS={value!r} is not allowed: use a whole number >= 1 "
                         "(how many configs train at once), or unset it for the default")
    return int(value)


def cifar10_setting() -> str:
    """``$LSNB_CIFAR10``, the `gpu` profile's CIFAR-10: ``"cifar10"`` (torchvision's, the default) or
    ``imagefolder:PATH`` with ``PATH/train/`` and ``PATH/test/`` there now."""
    value = os.environ.get("LSNB_CIFAR10", "cifar10")
    if value == "cifar10":
        return value
    folder = value.split(":", 1)[1] if value.startswith("imagefolder:") else None
    if not folder or not all(os.path.isdir(os.path.join(os.path.expanduser(folder), p)) for p in ("train", "test")):
        raise ValueError(f"LSNB_CIFAR10={value!r} is not usable: use cifar10 (torchvision's copy) or "
                         "imagefolder:PATH where PATH holds train/<class>/ and test/<class>/ (a path relative to "
                         f"the folder the book is built from, {os.getcwd()})")
    return value


def check_settings(cifar10: bool = True) -> None:
    """Every environment setting lsnb reads (:func:`precision_setting`, :func:`workers_setting` and, where the
    profile uses it, :func:`cifar10_setting`), checked at once."""
    precision_setting()
    workers_setting()
    if cifar10:
        cifar10_setting()


def check_alpha(alpha) -> float:
    """Label smoothing needs 0 <= alpha < 1 (alpha = 1 would erase the label, eq. (1) of the paper)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
        raise ValueError(f"alpha={alpha!r} is not allowed: label smoothing needs a number with 0 <= alpha < 1")
    return float(alpha)


def check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be a positive whole number")
    return value


def check_choice(name, value, choices):
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
    # Knowledge distillation (sec. 4, lsnb.methods.distillation): the teacher is named by its config's
    # digest (its folder in the same run store); beta weighs the soft term.
    teacher: str | None = None
    distill_temperature: float = 1.0
    distill_beta: float = 1.0
    distill_t2: bool = False
    # Weight snapshots at this many evenly spaced steps (plus step 0), for quantities
    # tracked over training such as the mutual information of Figure 6 (lsnb.methods.mi).
    snapshots: int = 0
    # Linear learning-rate warm-up over this fraction of training (the Transformer's).
    warmup: float = 0.0
    # Validation accuracy and NLL after every epoch (the training curves), or only after the last: a network
    # that learns a small subset for many epochs would spend more time on the validation images than on its own.
    validate_every_epoch: bool = True
    # The classes an image network learns, as indices of its dataset's classes, relabelled 0..k-1 in this order
    # (empty: all of them); its training, validation and test images are those of these classes only. A network
    # pretrained on some classes is probed on the others (Kornblith et al. 2021's transfer, chapter 5).
    classes: tuple = ()

    def __post_init__(self):
        check_choice("model", self.model, tuple(MODELS))
        check_dataset(self.dataset, self.task)
        check_alpha(self.alpha)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} is not allowed: seed must be a whole number >= 0")
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not allowed: the learning rate must be > 0")
        check_choice("schedule", self.schedule, SCHEDULES)
        if any(not 0 < m < 1 for m in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise ValueError(f"milestones={self.milestones!r} must be increasing fractions of training in (0, 1)")
        check_choice("augment", self.augment, AUGMENTATIONS)
        if (self.augment == "tokens") != (self.task == "translation"):
            raise ValueError(f"augment={self.augment!r} does not suit model={self.model!r}: 'tokens' is the "
                             f"translation models' (no augmentation), the image models take one of "
                             f"{', '.join(a for a in AUGMENTATIONS if a != 'tokens')}")
        check_positive_int("n_train", self.n_train, allow_none=True)
        check_positive_int("n_test", self.n_test, allow_none=True)
        if isinstance(self.n_val, bool) or not isinstance(self.n_val, int) or self.n_val < 0:
            raise ValueError(f"n_val={self.n_val!r} is not allowed: n_val must be a whole number >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip={self.grad_clip!r} is not allowed: use None or a number > 0")
        if self.teacher is not None and not (isinstance(self.teacher, str) and len(self.teacher) == 16
                                             and all(ch in "0123456789abcdef" for ch in self.teacher)):
            raise ValueError(f"teacher={self.teacher!r} is not allowed: name the teacher by its config's digest() "
                             "(16 lowercase hexadecimal digits, the name of its folder in the run store)")
        if not (isinstance(self.distill_temperature, (int, float)) and self.distill_temperature > 0):
            raise ValueError(f"distill_temperature={self.distill_temperature!r} is not allowed: it must be > 0")
        if not (isinstance(self.distill_beta, (int, float)) and 0 <= self.distill_beta <= 1):
            raise ValueError(f"distill_beta={self.distill_beta!r} is not allowed: it must be in [0, 1]")
        if not (isinstance(self.warmup, (int, float)) and 0 <= self.warmup < 1):
            raise ValueError(f"warmup={self.warmup!r} is not allowed: a fraction of training in [0, 1)")
        if not isinstance(self.validate_every_epoch, bool):
            raise ValueError(f"validate_every_epoch={self.validate_every_epoch!r} is not allowed: use True or False")
        if self.classes and (self.task != "image" or len(set(self.classes)) != len(self.classes) or len(self.classes) < 2
                             or any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in self.classes)):
            raise ValueError(f"classes={self.classes!r} is not allowed: an image network's classes are two or more "
                             "distinct class indices >= 0 (empty: all of them)")
        if isinstance(self.snapshots, bool) or not isinstance(self.snapshots, int) or self.snapshots < 0:
            raise ValueError(f"snapshots={self.snapshots!r} is not allowed: use a whole number >= 0")

    @property
    def task(self) -> str:
        """``"image"`` or ``"translation"``: what :attr:`model` does (:data:`MODELS`, :mod:`lsnb.engine.tasks`)."""
        return MODELS[self.model]

    @property
    def model_kwargs(self) -> dict:
        return dict(self.model_args)

    def to_dict(self) -> dict:
        """Plain JSON types (tuples become lists), as stored in ``config.json`` and hashed by :meth:`digest`.

        The fields of the first run store (:data:`DIGEST_V1_FIELDS`) are always there;
        every field added since is left out while it holds its default. So a new field
        cannot change the digest of any existing config: give it a default that keeps
        the old behaviour, and never change a field's default (add a field instead).
        """
        d = json.loads(json.dumps(dataclasses.asdict(self)))
        for f in dataclasses.fields(self):
            if f.name not in DIGEST_V1_FIELDS and d[f.name] == json.loads(json.dumps(_default(f))):
                del d[f.name]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["milestones"] = tuple(d.get("milestones", ()))
        d["classes"] = tuple(d.get("classes", ()))
        d["model_args"] = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in d.get("model_args", ()))
        return cls(**d)

    def digest(self) -> str:
        """A short, stable hash of the full config: the name of its run directory."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


# The fields TrainConfig had when the first runs were stored: always part of the digest.
# Frozen: fields added later join the digest only when they differ from their default.
DIGEST_V1_FIELDS = ("model", "dataset", "alpha", "seed", "epochs", "batch_size", "optimizer", "lr", "momentum",
                    "nesterov", "weight_decay", "schedule", "milestones", "lr_decay", "grad_clip", "augment",
                    "n_train", "n_val", "n_test", "model_args")


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
