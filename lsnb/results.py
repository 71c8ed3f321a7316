"""Headline numbers of each chapter, and the scorecard built from them.

Each chapter ends by calling :func:`write_chapter_results` with its claims: what the
paper says (with its number) and what this run measured. The files are small JSON
documents (``<results_dir>/<chapter>.json``); :func:`render_scorecard` turns all of
them into the book's scorecard table, so the scorecard can never disagree with the
chapters; beside them it sets the committed GPU edition's (:mod:`lsnb.editions`).

Run ``python -m lsnb.results RESULTS_DIR OUT.md [--edition book/editions/gpu]`` to write the table.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .editions import (OVERVIEW, ROOT, EditionError, duration_text, edition_status, provenance_text,
                       read_edition)
from .stats import RULE
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


# The verdicts of lsnb.stats (the book's one rule), and "not comparable" where a number is not a difference.
VERDICTS = ("agrees", "differs", "within noise", "not comparable")


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


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdict_cell(c: dict | None) -> str:
    """One side's cell of a claim: the verdict in bold, the numbers, the note; an em dash when it has no such claim."""
    if c is None:
        return "—"
    return _cell(f"**{c['verdict']}** — {c['ours']}" + (f" ({c['note']})" if c.get("note") else ""))


def _meta_rows(sides: list) -> list:
    """The run-settings table of a chapter: one column per side (its results' "meta" and setup)."""
    def get(r, key, fmt=str):
        if r is None:
            return "—"
        meta = r.get("meta") or {}
        if meta.get(key) is None:
            return "each network's profile schedule" if key == "epochs" and "epochs" in meta else "not recorded"
        return fmt(meta[key])
    rows = [("profile", lambda r: get(r, "profile")), ("hardware", lambda r: get(r, "hardware")),
            ("seeds", lambda r: get(r, "seeds")), ("epochs", lambda r: get(r, "epochs")),
            ("wall time", lambda r: get(r, "wall_s", duration_text)),
            ("run", lambda r: "—" if r is None else r.get("setup", ""))]
    out = ["| | " + " | ".join(name for name, _ in sides) + " |", "|---|" + "---|" * len(sides)]
    out += [f"| {label} | " + " | ".join(_cell(f(r)) for _, r in sides) + " |" for label, f in rows]
    return out


def _read_all(results_dir: Path) -> dict:
    return {f.stem: read_json(f) for f in sorted(Path(results_dir).glob("*.json"))}


def render_scorecard(results_dir: Path | str, edition_dir: Path | str | None = None, root: Path | str | None = None
                     ) -> str:
    """The scorecard in MyST markdown: per chapter, its run settings and one row per claim with the paper's
    number, the GPU edition's (``edition_dir``, see :mod:`lsnb.editions`) and this build's (``results_dir``),
    each side with its verdict; the verdict rule (:data:`lsnb.stats.RULE`) first.

    Without ``edition_dir`` only this build's column is shown; with one that holds no edition
    yet, the edition's column is there and says so. ``root``: the checkout whose ``HEAD`` an
    edition's commit is compared with (default: this package's).
    """
    build = _read_all(Path(results_dir))
    if not build:
        raise FileNotFoundError(f"no chapter results in {results_dir}: execute the chapters first (make book)")
    out = [f"**The verdict rule**, the same for every claim on every side (`lsnb.stats`): {RULE}.", ""]
    edition, sides = {}, [("this build", build)]
    if edition_dir is not None:
        manifest = read_edition(edition_dir)
        if manifest is None:
            out += ["**GPU edition**: none has been produced yet, so its column is empty "
                    f"({{doc}}`what it is and how to make it <chapters/{OVERVIEW}>`).", ""]
        else:
            edition = _read_all(Path(edition_dir) / "results")
            status = edition_status(manifest, Path(root) if root is not None else ROOT)
            line = (f"**GPU edition** ({{doc}}`its pages <chapters/{OVERVIEW}>`): "
                    f"{provenance_text(manifest)}")
            out += ([line, "", "```{warning}", status["message"], "```", ""] if status["stale"]
                    else [f"{line} {status['message']}", ""])
        sides = [("GPU edition", edition), ("this build", build)]
    for chapter in sorted(set(build) | set(edition)):
        here = [(name, results.get(chapter)) for name, results in sides]
        first = next(r for _, r in reversed(here) if r is not None)
        shown = [(name, r) for name, r in here if name != "GPU edition" or edition]  # no edition: no settings
        out += [f"## {first['title']}", ""] + _meta_rows(shown) + [""]
        claims = {}  # claim text -> {side: claim}, in this build's order, then the edition's own
        for name, r in reversed(here):
            for c in (r or {}).get("claims", []):
                claims.setdefault(c["claim"], {})[name] = c
        out += ["| claim | paper | " + " | ".join(name for name, _ in sides) + " |", "|---|---|" + "---|" * len(sides)]
        for text, by_side in claims.items():
            paper = next(iter(by_side.values()))["paper"]  # this build's wording where it has the claim
            out.append(f"| {_cell(text)} | {_cell(paper)} | "
                       + " | ".join(_verdict_cell(by_side.get(name)) for name, _ in sides) + " |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    """``python -m lsnb.results RESULTS_DIR OUT.md [--edition EDITION_DIR]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    edition = None
    if "--edition" in argv:
        i = argv.index("--edition")
        edition = argv[i + 1] if i + 1 < len(argv) else None
        del argv[i:i + 2]
        if edition is None:
            argv = []
    if len(argv) != 2:
        print("usage: python -m lsnb.results RESULTS_DIR OUT.md [--edition EDITION_DIR]", file=sys.stderr)
        return 2
    try:
        text = render_scorecard(argv[0], edition)
    except (FileNotFoundError, EditionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    atomic_write_bytes(Path(argv[1]), text.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
