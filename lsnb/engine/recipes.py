"""Recipes: each network of the book as the paper trains it, on a profile (:mod:`lsnb.engine.profiles`).

:func:`fcn_config`, :func:`alexnet_config`, :func:`resnet_config` and
:func:`transformer_config` are the paper's recipes (sec. 2-4); :func:`table2_config` is a
network of Table 2 as chapters 1-3 train it, :func:`student_config` and
:func:`alexnet_student` the distillation students of sec. 4. Each returns a validated
:class:`~lsnb.engine.config.TrainConfig` read from the profile's row.
"""
from __future__ import annotations

from ..data.names import check_dataset
from .config import TrainConfig, check_alpha, check_positive_int
from .profiles import get_profile


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
        model="fcn", dataset=check_dataset(dataset or p.dataset, "image"), alpha=check_alpha(alpha), seed=seed,
        epochs=check_positive_int("epochs", epochs or p.epochs), batch_size=128,
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
        model="alexnet", dataset=check_dataset(dataset or p.alexnet_dataset, "image"), alpha=check_alpha(alpha),
        seed=seed, epochs=check_positive_int("epochs", epochs or p.alexnet_epochs), batch_size=128,
        optimizer="sgd", lr=0.1, momentum=0.0, weight_decay=0.004,
        schedule="piecewise", milestones=(0.5, 0.75), lr_decay=0.1, augment="alexnet",
        n_train=p.conv_n_train, n_val=p.n_val, n_test=p.n_test, validate_every_epoch=p.validate_every_epoch)


def resnet_config(profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
                  epochs: int | None = None, depth: int | None = None) -> TrainConfig:
    """ResNet v2 as the TF official CIFAR model trains it (sec. 2, Table 2: ResNet-56 on CIFAR-100).

    SGD momentum 0.9, lr 0.1, batch 128, weight decay 2e-4 on all but batch-norm
    parameters, lr x0.1 at fractions 0.5 and 0.75 of any schedule (epochs 91 and 136.5
    of 182; TF's are 91 and 136), pad-4 random crops and flips, per-image standardisation. Batch-norm
    statistics average with the profile's decay (:attr:`Profile.resnet_bn_decay`).
    """
    p = get_profile(profile)
    return TrainConfig(
        model="resnet", dataset=check_dataset(dataset or p.resnet_dataset, "image"), alpha=check_alpha(alpha),
        seed=seed, epochs=check_positive_int("epochs", epochs or p.resnet_epochs), batch_size=128,
        optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=2e-4,
        schedule="piecewise", milestones=(0.5, 0.75), lr_decay=0.1, augment="cifar",
        n_train=p.conv_n_train, n_val=p.n_val, n_test=p.n_test,
        model_args=(("depth", depth or p.resnet_depth), ("bn_decay", p.resnet_bn_decay)),
        validate_every_epoch=p.validate_every_epoch)


def transformer_config(profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
                       epochs: int | None = None) -> TrainConfig:
    """The encoder-decoder Transformer of the translation chapter (Vaswani et al. 2017; paper sec. 3).

    Adam with linear warm-up then linear decay, gradient clipping at 1, dropout 0.1,
    label smoothing ``alpha`` on the next-token targets (padding excluded), sized by the
    profile's :class:`TranslationProfile`.
    """
    p = get_profile(profile)
    t = p.translation
    return TrainConfig(
        model="transformer", dataset=check_dataset(dataset or t.dataset, "translation"), alpha=check_alpha(alpha),
        seed=seed, epochs=check_positive_int("epochs", epochs or t.epochs),
        batch_size=t.batch_size, optimizer="adam", lr=t.lr,
        schedule="linear", warmup=0.05, grad_clip=1.0, augment="tokens",
        n_train=t.n_train, n_val=t.n_val, n_test=t.n_test, model_args=t.size + (("dropout", t.dropout),),
        validate_every_epoch=p.validate_every_epoch)


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


# The networks of the paper's Table 2 (and the FCN of chapter 1), by the name the book uses.
TABLE2_MODELS = {"FCN": fcn_config, "AlexNet": alexnet_config, "ResNet": resnet_config}


def table2_config(model: str, profile: str, *, dataset: str | None = None, alpha: float = 0.0, seed: int = 0,
                  epochs: int | None = None) -> TrainConfig:
    """A network of the paper's Table 2 (``model``: a key of :data:`TABLE2_MODELS`) as chapters 1-3 train it.

    Where the profile trains Table 2 with augmentation (:attr:`Profile.table2_augment`, the
    ``paper`` and ``gpu`` profiles), the network's recipe unchanged. Otherwise (``cpu``,
    ``smoke``) the over-confident regime of the paper's sec. 3 on a small budget: the same
    recipe without augmentation and without dropout, on the first ``table2_n_train``
    training images, for the profile's ``table2_epochs`` and with its ``table2_changes`` (on
    ``cpu``: AlexNet at batch 32 with momentum, see :data:`PROFILE_TABLE`), so that the network
    memorises its training set as the paper's long-trained networks do and its confidence
    outgrows its accuracy (Guo et al. 2017).
    """
    if model not in TABLE2_MODELS:
        raise ValueError(f"model={model!r} is not a Table 2 network: use one of {', '.join(TABLE2_MODELS)}")
    p = get_profile(profile)
    if p.table2_augment:
        return TABLE2_MODELS[model](profile, dataset=dataset, alpha=alpha, seed=seed, epochs=epochs)
    epochs = epochs or dict(p.table2_epochs).get(model)
    extra = {"dropout": 0.0, "augment": "none"} if model == "FCN" else {}
    cfg = TABLE2_MODELS[model](profile, dataset=dataset, alpha=alpha, seed=seed, epochs=epochs, **extra)
    changes = dict(dict(p.table2_changes).get(model, ()))
    return cfg.with_(augment="none", n_train=p.table2_n_train or cfg.n_train, **changes)


def transfer_config(model: str, profile: str, classes: tuple, *, dataset: str | None = None, alpha: float = 0.0,
                    seed: int = 0, epochs: int | None = None) -> TrainConfig:
    """A network of Table 2 (:func:`table2_config`) that learns only ``classes`` (indices of its dataset's
    classes): the pretrained network of Kornblith et al. (2021)'s transfer test, whose penultimate features
    a linear probe then reads on the other classes (chapter 5)."""
    return table2_config(model, profile, dataset=dataset, alpha=alpha, seed=seed, epochs=epochs).with_(
        classes=tuple(int(c) for c in classes))


def configs(model: str, profile: str, *, dataset: str | None, alphas, seeds, epochs: int | None = None) -> list:
    """One :func:`table2_config` of ``model`` per (alpha, seed) (``epochs``: None for its profile's schedule)."""
    return [table2_config(model, profile, dataset=dataset, alpha=a, seed=s, epochs=epochs)
            for a in alphas for s in seeds]
