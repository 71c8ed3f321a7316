"""The paper's image classifiers: the fully connected nets, AlexNet and the pre-activation ResNet.

Each model exposes ``features(x)`` (the penultimate activations the paper projects in
sec. 2) and ``head`` (the last linear layer, whose rows are the class templates w_k),
and ``decays(name)``, which says which parameters take weight decay. The translation model (sec. 3) is
:class:`lsnb.models.transformer.Transformer`; :mod:`lsnb.models.registry` names them all.
"""
from __future__ import annotations

import torch
from torch import nn


class FCN(nn.Module):
    """Fully connected net of Hinton et al. (2015): ``in -> hidden[0] -> ... -> classes``.

    ReLU hidden layers with dropout after each (the 784-1200-1200-10 teacher uses
    0.5; the 784-800-800-10 student none). Inputs of any shape are flattened.
    """

    def __init__(self, in_shape: tuple, num_classes: int, hidden=(1200, 1200), dropout: float = 0.0):
        super().__init__()
        layers, width = [nn.Flatten()], int(torch.tensor(in_shape).prod())
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    @staticmethod
    def decays(name: str) -> bool:
        return name.endswith("weight")


def _trunc_normal_(w: torch.Tensor, std: float) -> None:
    """TF's ``truncated_normal_initializer(stddev=std)``: resample beyond two standard deviations."""
    nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)


class MaxPoolSame(nn.Module):
    """TF's ``max_pool(ksize=3, strides=2, padding='SAME')``: out = ceil(in / 2), extra padding at the end."""

    def __init__(self, kernel: int = 3, stride: int = 2):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pads = [max((-(-n // self.stride) - 1) * self.stride + self.kernel - n, 0) for n in (w, h)]
        x = nn.functional.pad(x, (pads[0] // 2, pads[0] - pads[0] // 2, pads[1] // 2, pads[1] - pads[1] // 2),
                              value=float("-inf"))
        return nn.functional.max_pool2d(x, self.kernel, self.stride)


def tf_lrn(depth_radius: int = 4, bias: float = 1.0, alpha: float = 0.001 / 9.0, beta: float = 0.75):
    """TF's ``local_response_normalization`` as ``nn.LocalResponseNorm``.

    TF divides by ``(bias + alpha * sum_{2r+1 channels} a^2) ** beta``; PyTorch by
    ``(k + alpha / size * sum a^2) ** beta``. So size = 2r + 1 and PyTorch's alpha is
    TF's alpha times the size: radius 4 and alpha 0.001/9 give size 9, alpha 0.001.
    """
    size = 2 * depth_radius + 1
    return nn.LocalResponseNorm(size=size, alpha=alpha * size, beta=beta, k=bias)


class ChannelLRN(nn.Module):
    """Local response normalisation across channels, the same function as :func:`tf_lrn`'s module.

    ``x / (bias + alpha * sum_{|c' - c| <= r} x_{c'}^2) ** beta`` with the window sum taken
    as a difference of two cumulative sums over channels. ``nn.LocalResponseNorm`` computes
    the same sum with a 3-d average pool, which on CPU costs more than AlexNet's
    convolutions (see ``benchmarks/throughput.py --profile``).
    """

    def __init__(self, depth_radius: int = 4, bias: float = 1.0, alpha: float = 0.001 / 9.0, beta: float = 0.75):
        super().__init__()
        self.r, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, r = x.shape[1], self.r
        sq = nn.functional.pad(x.float().pow(2), (0, 0, 0, 0, r + 1, r))    # channels: r + 1 before, r after
        cs = sq.cumsum(1)
        window = cs[:, 2 * r + 1:] - cs[:, :c]                            # sum over channels c-r .. c+r
        return x / (self.bias + self.alpha * window).pow(self.beta).to(x.dtype)


class AlexNet(nn.Module):
    """The TensorFlow cifar10 tutorial network the paper calls AlexNet (sec. 2, Table 2; 24 x 24 inputs).

    conv5x5x64 - ReLU - maxpool 3/2 SAME - LRN - conv5x5x64 - ReLU - LRN - maxpool 3/2 SAME
    - fc 384 - ReLU - fc 192 - ReLU - fc classes, with the tutorial's initialisation
    (truncated normal std 0.05 for the convolutions, 0.04 for the hidden dense layers,
    1/192 for the output; biases 0, 0.1, 0.1, 0.1, 0) and L2 weight decay only on the
    two hidden dense layers' weights (:meth:`decays`).
    """

    def __init__(self, in_shape: tuple, num_classes: int):
        super().__init__()
        c, h, w = in_shape
        self.conv1 = nn.Conv2d(c, 64, 5, padding=2)
        self.conv2 = nn.Conv2d(64, 64, 5, padding=2)
        self.pool, self.norm = MaxPoolSame(), ChannelLRN()
        flat = 64 * (-(-(-(-h // 2)) // 2)) * (-(-(-(-w // 2)) // 2))
        self.local3 = nn.Linear(flat, 384)
        self.local4 = nn.Linear(384, 192)
        self.head = nn.Linear(192, num_classes)
        for layer, std, bias in ((self.conv1, 5e-2, 0.0), (self.conv2, 5e-2, 0.1), (self.local3, 0.04, 0.1),
                                 (self.local4, 0.04, 0.1), (self.head, 1 / 192.0, 0.0)):
            _trunc_normal_(layer.weight, std)
            nn.init.constant_(layer.bias, bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.pool(torch.relu(self.conv1(x))))
        x = self.pool(self.norm(torch.relu(self.conv2(x))))
        x = torch.relu(self.local3(x.flatten(1)))
        return torch.relu(self.local4(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @staticmethod
    def decays(name: str) -> bool:
        return name in ("local3.weight", "local4.weight")


class PreActBlock(nn.Module):
    """ResNet v2 basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, projection shortcut on the pre-activation."""

    def __init__(self, c_in: int, c_out: int, stride: int, project: bool, bn_decay: float):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in, momentum=1 - bn_decay, eps=1e-5)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, momentum=1 - bn_decay, eps=1e-5)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = torch.relu(self.bn1(x))
        shortcut = self.shortcut(pre) if self.shortcut is not None else x
        out = self.conv1(pre)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


class ResNetV2(nn.Module):
    """Pre-activation ResNet for CIFAR (TF official ``resnet_v2``, depth = 6n + 2; ResNet-56: n = 9).

    3x3 stem conv with 16 filters (no BN-ReLU after it: v2 puts them inside the
    blocks), three stages of n blocks with widths 16/32/64 and strides 1/2/2, a
    projection shortcut on each stage's first block, then the final BN-ReLU, global
    average pooling and the dense layer. ``bn_decay`` is TF's batch-norm moving-average
    decay (0.997 in the official model, which trains for 70k steps; short schedules need
    a faster average such as PyTorch's default 0.9, or the test-time statistics lag).
    """

    def __init__(self, in_shape: tuple, num_classes: int, depth: int = 56, widths=(16, 32, 64),
                 bn_decay: float = 0.997):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"depth={depth} is not allowed: a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110)")
        n = (depth - 2) // 6
        self.stem = nn.Conv2d(in_shape[0], widths[0], 3, 1, 1, bias=False)
        blocks, c_in = [], widths[0]
        for stage, (c_out, stride) in enumerate(zip(widths, (1, 2, 2))):
            for i in range(n):
                blocks.append(PreActBlock(c_in, c_out, stride if i == 0 else 1, project=i == 0, bn_decay=bn_decay))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(c_in, momentum=1 - bn_decay, eps=1e-5)
        self.head = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.blocks(self.stem(x))))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @staticmethod
    def decays(name: str) -> bool:
        """TF official ResNet: L2 on every trainable variable except batch-norm parameters."""
        return ".bn" not in name and not name.startswith("bn.")
