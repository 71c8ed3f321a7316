"""Headline numbers of each chapter: its claims, what the paper says and what this run measured.

Each chapter ends by calling :func:`write_chapter_results` with its :class:`Claim` rows. The files
are small JSON documents (``<results_dir>/<chapter>.json``); :mod:`lsnb.build.scorecard` turns all
of them into the book's scorecard table, so the scorecard can never disagree with the chapters.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data.files import atomic_write_json
from ..engine.store import writable_dir
from ..methods.stats import NOT_TESTABLE


@dataclass(frozen=True)
class Claim:
    """One row of the scorecard: the paper's claim and number beside ours."""

    claim: str
    paper: str
    ours: str
    verdict: str  # one of VERDICTS; for NOT_TESTABLE ``note`` names the failed premise
    note: str = ""
    premise: str = ""  # the condition under which the experiment can test the claim (lsnb.methods.stats.Premise)

    def claim_text(self) -> str:
        """The claim as a table shows it: with the condition under which it is testable."""
        return f"{self.claim} (testable where: {self.premise})" if self.premise else self.claim

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} must be one of {', '.join(map(repr, VERDICTS))}")


# The verdicts of lsnb.methods.stats (the book's one rule), NOT_TESTABLE included: the scorecard's tally names them all.
VERDICTS = ("agrees", "differs", "within noise", NOT_TESTABLE)


# A chapter's ``epochs`` where each network keeps its profile's number (its results' ``meta``, the scorecard).
PROFILE_SCHEDULE = "each network's profile schedule"


def default_results_dir() -> Path:
    """``$LSNB_RESULTS`` or ``./results``."""
    return Path(os.environ.get("LSNB_RESULTS", "results"))


def write_chapter_results(chapter: str, title: str, setup_text: str, claims, numbers: dict,
                          results_dir: Path | str | None = None, meta: dict | None = None) -> Path:
    """Write ``<results_dir>/<chapter>.json`` (atomically) and return its path.

    ``meta``: how the chapter was made (:meth:`lsnb.chapters.common.ChapterSetup.meta`: profile,
    hardware, seeds, epochs, wall time in seconds).
    """
    folder = writable_dir(results_dir if results_dir is not None else default_results_dir(), "results_dir")
    path = folder / f"{chapter}.json"
    atomic_write_json(path, {"chapter": chapter, "title": title, "setup": setup_text, "meta": meta or {},
                             "claims": [asdict(c) for c in claims], "numbers": numbers})
    return path
