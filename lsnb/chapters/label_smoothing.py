"""Chapter 1 (sec. 1 of the paper): its claims -- eq. (1) as lsnb and torch compute it, and the first
experiment's accuracy. The chapter's runs are the profile's FCN recipe over alpha (:func:`lsnb.engine.recipes.configs`)."""
from __future__ import annotations

from ..book.glue import pm
from ..book.results import Claim
from .paper import ACCURACY_MARGIN, setting


def label_smoothing_claims(setup, same_as_torch: bool, convention_gap: float, accuracy) -> list:
    """Chapter 1 (sec. 1): eq. (1) as lsnb and torch compute it, and the first experiment's accuracy.

    ``convention_gap``: nats between the alpha/(K-1) form and eq. (1); ``accuracy``: the FCN's
    test accuracy (%) without and with label smoothing (:class:`lsnb.methods.metrics.SeedComparison`).
    The FCN is also the first network of chapter 2's Table 2, whose claims leave it to this one.
    """
    c = accuracy.comparison
    return [
        Claim("Label smoothing as eq. (1): y_LS = (1 - alpha) y + alpha/K; "
              "torch's label_smoothing uses the same form",
              "definition (sec. 1)",
              f"lsnb == torch: {same_as_torch}; alpha/(K-1) form differs by {convention_gap:.4f} nats",
              "agrees" if same_as_torch else "differs"),
        Claim(f"Label smoothing changes top-1 accuracy little, FCN (Table 2; within ±{ACCURACY_MARGIN:g} point)",
              "no FCN in the paper's Table 2; its networks change by -0.1 (AlexNet) to +0.6 (ResNet-56) points",
              f"FCN/{setup.dataset}: {pm(accuracy.hard, digits=2)} vs {pm(accuracy.ls, digits=2)} % "
              f"(alpha 0 vs {setup.alpha:g}); LS - hard {c.text(2)} points",
              c.verdict(ACCURACY_MARGIN), setting(setup, setup.dataset)),
    ]
