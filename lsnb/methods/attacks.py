"""White-box and transferred L-infinity attacks on image classifiers (Fu et al. 2020; chapter 5).

The attacks work on images in [0, 1]; ``f`` maps such a batch to logits (the network with its
test-time preprocessing in front, :func:`lsnb.data.augment.test_view`). The loss is the
cross-entropy of the true label, its softmax in float64: in float32 a very confident network's
wrong-class probabilities underflow and the gradient of its loss is exactly zero (the gradient
reaching the network is float32 again, so it survives margins up to ~100 nats):

* FGSM (Goodfellow et al. 2015): ``x' = clip(x + eps * sign(grad_x CE))``;
* PGD (Madry et al. 2018): a uniform random start in the eps-ball, then ``steps`` steps of size
  ``step``, ``x <- proj_{B_eps(x0) and [0,1]}(x + step * sign(grad_x CE))``; by default
  ``step = 2.5 eps / steps``, the usual rule (the ``robustness`` library's), so that the steps can cross
  the ball.

A *transferred* attack crafts ``x'`` on one network (the source) and evaluates another on it:
Fu et al. find that label smoothing's apparent white-box robustness does not survive attacks
transferred from a network trained with hard targets, the signature of gradient masking.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _gradient(f, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(f(x).double(), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm(f, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """The fast gradient sign attack: one step of size ``eps`` up the loss, clipped to [0, 1]."""
    return (x + eps * _gradient(f, x, y).sign()).clamp(0, 1).detach()


def pgd(f, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, step: float | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball of radius ``eps`` around ``x`` (within [0, 1]), from a
    uniform random start; ``step`` defaults to ``2.5 * eps / steps``."""
    if not eps >= 0 or steps < 1:
        raise ValueError(f"pgd needs eps >= 0 and steps >= 1, got eps={eps!r}, steps={steps!r}")
    step = 2.5 * eps / steps if step is None else step
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    adv = (x + eps * (2 * noise - 1)).clamp(0, 1)
    for _ in range(steps):
        adv = adv + step * _gradient(f, adv, y).sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1).detach()
    return adv


def accuracy_on(f, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``f`` on the images ``x`` (no gradients)."""
    with torch.no_grad():
        right = sum((f(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).sum().item()
                    for i in range(0, len(x), batch_size))
    return right / len(x)
