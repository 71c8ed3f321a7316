"""Headline numbers of each chapter, and the scorecard built from them.

Each chapter ends by calling :func:`write_chapter_results` with its claims: what the
paper says (with its number) and what this run measured. The files are small JSON
documents (``<results_dir>/<chapter>.json``); :func:`render_scorecard` turns all of
them into the book's scorecard table, so the scorecard can never disagree with the
chapters.

Run ``python -m lsnb.results RESULTS_DIR OUT.md`` to write the table.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .store import atomic_write_bytes, atomic_write_json, read_json, writable_dir


@dataclass(frozen=True)
class Claim:
    """One row of the scorecard: the paper's claim and number beside ours."""

    claim: str
    paper: str
    ours: str
    verdict: str  # one of VERDICTS (the reason in ``note`` for the last two)
    note: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} must be one of {', '.join(map(repr, VERDICTS))}")


# "within noise": the difference the claim is about is smaller than the seed-to-seed spread.
VERDICTS = ("agrees", "differs", "within noise", "not comparable")


def verdict(difference: float, noise: float) -> str:
    """A claim's verdict from a difference signed so that > 0 supports it, and its noise margin.

    "agrees" beyond the margin, "differs" beyond it the other way, else "within noise"
    (see :func:`lsnb.metrics.difference_and_noise`).
    """
    if difference > noise:
        return "agrees"
    return "differs" if difference < -noise else "within noise"


def default_results_dir() -> Path:
    """``$LSNB_RESULTS`` or ``./results``."""
    return Path(os.environ.get("LSNB_RESULTS", "results"))


def write_chapter_results(chapter: str, title: str, setup_text: str, claims, numbers: dict,
                          results_dir: Path | str | None = None, meta: dict | None = None) -> Path:
    """Write ``<results_dir>/<chapter>.json`` (atomically) and return its path.

    ``meta``: how the chapter was made (:meth:`lsnb.chapters.ChapterSetup.meta`: profile,
    hardware, seeds, epochs, wall time in seconds).
    """
    folder = writable_dir(results_dir if results_dir is not None else default_results_dir(), "results_dir")
    path = folder / f"{chapter}.json"
    atomic_write_json(path, {"chapter": chapter, "title": title, "setup": setup_text, "meta": meta or {},
                             "claims": [asdict(c) for c in claims], "numbers": numbers})
    return path


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_scorecard(results_dir: Path | str) -> str:
    """A MyST markdown table per chapter: claim, paper, this book, verdict."""
    files = sorted(Path(results_dir).glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no chapter results in {results_dir}: execute the chapters first (make book)")
    out = []
    for f in files:
        r = read_json(f)
        out += [f"## {r['title']}", "", f"Run: {r['setup']}", "",
                "| claim | paper | this book | verdict |", "|---|---|---|---|"]
        for c in r["claims"]:
            verdict = c["verdict"] + (f" ({c['note']})" if c.get("note") else "")
            out.append(f"| {_cell(c['claim'])} | {_cell(c['paper'])} | {_cell(c['ours'])} | {_cell(verdict)} |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m lsnb.results RESULTS_DIR OUT.md", file=sys.stderr)
        return 2
    try:
        text = render_scorecard(argv[0])
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    atomic_write_bytes(Path(argv[1]), text.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
