"""Where a student's targets come from: its teacher's config read back from the run store, checked against the
student's data, and how the teacher scores the student's images (:func:`teacher_mode`):

* ``"precomputed"`` -- the student trains on un-augmented images: the teacher's logits on the
  training set (its test-time view) are computed once and kept in the teacher's run folder;
* ``"on the fly"`` -- the student augments exactly as the teacher was trained to see images:
  the teacher scores each augmented batch the student sees;
* ``"clean view"`` -- the student augments differently (the paper's ResNet-56 -> AlexNet,
  whose inputs are 24 x 24 crops): every augmented copy of an image shares the teacher's
  logits on that image's test-time view. An approximation, said where it is used.

The loss itself is :func:`lsnb.methods.distillation.distillation_loss`.
"""
from __future__ import annotations

from pathlib import Path

from ..data.files import read_json
from .config import TrainConfig


def teacher_mode(teacher_config, student_config) -> str:
    """How the student gets its teacher's targets: see the module docstring."""
    if student_config.augment == "none":
        return "precomputed"
    if student_config.augment == teacher_config.augment:
        return "on the fly"
    return "clean view"


def check_teacher(teacher_config, student_config) -> None:
    """A teacher must have been trained on every training image of the student: the same data and split,
    and the student's ``n_train`` images among the teacher's (a dataset's first ``n`` training images are
    a prefix of its first ``m >= n``, :func:`lsnb.data.images.load`; None is all of them), so that the student's
    transfer set is part of what the teacher learnt (Hinton et al. 2015, sec. 3)."""
    same = ("dataset", "n_val")
    diff = [f"{k}: teacher {getattr(teacher_config, k)!r} vs student {getattr(student_config, k)!r}"
            for k in same if getattr(teacher_config, k) != getattr(student_config, k)]
    t_n, s_n = teacher_config.n_train, student_config.n_train
    if t_n is not None and (s_n is None or s_n > t_n):
        diff.append(f"n_train: teacher {t_n!r} vs student {s_n!r} (the student's images must be among the teacher's)")
    if diff:
        raise ValueError("the teacher was trained on other data than the student's: " + "; ".join(diff))


def teacher_config(student_config, runs_dir: Path):
    """The config of the student's teacher, read from the run store; a clear error if it is not there."""
    folder = Path(runs_dir) / student_config.teacher
    if not (folder / "metrics.json").exists():
        raise FileNotFoundError(f"teacher run {student_config.teacher} is not finished in {runs_dir}: "
                                "train the teacher's config first (lsnb.engine.train.train(teacher_config))")
    cfg = TrainConfig.from_dict(read_json(folder / "config.json", dict))
    if cfg.digest() != student_config.teacher:  # a folder whose config is not the one its name promises
        raise ValueError(f"the teacher run {folder} holds a config whose digest is {cfg.digest()}, not "
                         f"{student_config.teacher}: delete {folder} and train the teacher again")
    check_teacher(cfg, student_config)
    return cfg
