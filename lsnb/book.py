"""Small helpers that connect a chapter's numbers to the book's text."""
from __future__ import annotations

import pandas as pd

from .metrics import mean_and_spread


def glue(name: str, value, display: bool = False) -> None:
    """Store ``value`` under ``name`` for ``{glue:}`` in the prose (myst-nb).

    Where myst-nb is missing (Colab, Kaggle) the value is shown when ``display`` is
    set, and otherwise dropped: the prose that cites it is only rendered in the book.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            from IPython.display import display as _display
            _display(value)
        return
    _glue(name, value, display=display)


def glue_all(values: dict) -> None:
    """:func:`glue` every ``name: value`` of a dict, in its order (a chapter's numbers for the prose)."""
    for name, value in values.items():
        glue(name, value)


def pm(values, scale: float = 1.0, digits: int = 1) -> str:
    """``"mean ± sd"`` of a list of numbers (sd over seeds, n - 1), after multiplying by ``scale``."""
    mean, sd = mean_and_spread([v * scale for v in values])
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def claims_frame(claims) -> pd.DataFrame:
    """The paper-vs-this-book table that closes a chapter."""
    return pd.DataFrame([{"claim": c.claim, "paper": c.paper, "this book": c.ours,
                          "verdict": c.verdict + (f" ({c.note})" if c.note else "")} for c in claims])
