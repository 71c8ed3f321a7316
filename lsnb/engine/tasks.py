"""The kinds of experiment the book runs, each in one place: how it batches its data and what a model sees.

* ``image`` -- image classification (sec. 2-4): random mini-batches, augmentation on the
  training device (:mod:`lsnb.data.images`), one label per example;
* ``translation`` -- English->German (sec. 3): length-bucketed batches of sentence pairs
  cut to their longest sentence (:mod:`lsnb.data.text`), one label per target token, padding
  labelled :data:`~lsnb.methods.losses.IGNORE_INDEX`.

A config's task follows from its model (:data:`lsnb.engine.config.MODELS`); the training loop
and the evaluation loop (:mod:`lsnb.engine.runs`) ask the task instead of testing strings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..data import augment, images as data, text
from ..models.registry import ARCHITECTURES


@dataclass(frozen=True)
class Task:
    """``load(dataset, n_val=, n_train=, n_test=)`` -> the :class:`~lsnb.data.images.Dataset`;
    ``batch_order(split, batch_size, generator)`` -> index tensors of one epoch;
    ``batch(split, idx, augment, train, generator, device)`` -> model input and labels;
    ``input_shape(dataset_shape, augment)`` -> the shape the model is built for;
    ``keeps_test_logits``: whether a finished run keeps its test logits (the calibration chapters')."""

    name: str
    load: Callable
    batch_order: Callable
    batch: Callable
    input_shape: Callable
    keeps_test_logits: bool


IMAGE = Task("image", data.load, data.batch_order, data.batch, augment.input_shape, keeps_test_logits=True)
TRANSLATION = Task("translation", text.load_translation, text.batch_order, text.batch, lambda shape, augment: tuple(shape),
                   keeps_test_logits=False)
TASKS = {t.name: t for t in (IMAGE, TRANSLATION)}


def of(config) -> Task:
    """The task of a :class:`~lsnb.engine.config.TrainConfig` (by its model)."""
    return TASKS[config.task]


def new_model(config, dataset_shape: tuple, num_classes: int):
    """The model named by ``config.model`` with ``config.model_kwargs``, freshly initialised, for data of
    ``dataset_shape`` (the input shape follows from the config's task and augmentation)."""
    shape = of(config).input_shape(dataset_shape, config.augment)
    return ARCHITECTURES[config.model](shape, num_classes, **config.model_kwargs)
