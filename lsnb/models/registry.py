"""The book's networks by the name a config gives them (:data:`lsnb.engine.config.MODELS` says which task
each one does; :func:`lsnb.engine.tasks.new_model` builds one for a config)."""
from __future__ import annotations

from .transformer import Transformer
from .vision import FCN, AlexNet, ResNetV2

ARCHITECTURES = {"fcn": FCN, "alexnet": AlexNet, "resnet": ResNetV2, "transformer": Transformer}
