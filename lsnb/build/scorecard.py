"""The book's scorecard: every chapter's results files (:mod:`lsnb.book.results`) in one table, beside the
committed GPU edition's (:mod:`lsnb.build.editions`), so that the scorecard can never disagree with the chapters.

Run ``python -m lsnb.build.scorecard RESULTS_DIR OUT.md [--edition book/editions/gpu]`` to write the table.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from ..book.results import PROFILE_SCHEDULE, VERDICTS
from ..data.files import atomic_write_bytes, read_json
from ..methods.stats import RULE
from ..book.glue import duration_text
from .execute import ROOT, EditionError
from .manifest import chapter_statuses, overall_status, provenance_text, read_edition
from .staging import OVERVIEW


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdict_cell(c: dict | None, shared: tuple = ()) -> str:
    """One side's cell of a claim: the verdict in bold, the numbers, the note less the parts in ``shared``
    (said once under the chapter's heading); an em dash when it has no such claim."""
    if c is None:
        return "—"
    note = "; ".join(part for part in _note_parts(c) if part not in shared)
    return _cell(f"**{c['verdict']}** — {c['ours']}" + (f" ({note})" if note else ""))


def _note_parts(c: dict) -> list:
    """A claim's note split at "; ": a note is often the chapter's caveat with a row's own reason after it."""
    return [part for part in (c.get("note") or "").split("; ") if part]


def _shared_note(claims: list) -> tuple:
    """The parts of the note that every one of ``claims`` (one side of one chapter) carries, in their order.

    Two claims at least: the note of a chapter's only claim is that claim's own (a failed premise, say),
    so it stays in its row rather than reading as a caveat on the whole chapter.
    """
    if len(claims) < 2:
        return ()
    first, rest = _note_parts(claims[0]), [set(_note_parts(c)) for c in claims[1:]]
    return tuple(part for part in first if all(part in parts for parts in rest))


def _tally_rows(sides: list) -> list:
    """How many claims of each side have each verdict: every one of VERDICTS named (zeros too), so that a
    reader sees the whole score before the chapters; a verdict outside them (a results file written before
    the book settled its verdicts) gets its own column instead of vanishing from the count."""
    counts = [(name, Counter(c["verdict"] for r in results.values() for c in r.get("claims", [])))
              for name, results in sides]
    names = list(VERDICTS) + sorted({v for _, n in counts for v in n} - set(VERDICTS))
    out = ["| verdicts | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    return out + [f"| {name} | " + " | ".join(str(n[v]) for v in names) + " |" for name, n in counts]


def _meta_rows(sides: list) -> list:
    """The run-settings table of a chapter: one column per side (its results' "meta" and setup)."""
    def get(r, key, fmt=str):
        if r is None:
            return "—"
        meta = r.get("meta") or {}
        if meta.get(key) is None:
            return PROFILE_SCHEDULE if key == "epochs" and "epochs" in meta else "not recorded"
        return fmt(meta[key])
    rows = [("profile", lambda r: get(r, "profile")), ("hardware", lambda r: get(r, "hardware")),
            ("precision", lambda r: get(r, "precision")),
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
    number, the GPU edition's (``edition_dir``, see :mod:`lsnb.build.editions`) and this build's (``results_dir``),
    each side with its verdict; first the verdict rule (:data:`lsnb.methods.stats.RULE`) and each side's tally of
    verdicts.

    Under a chapter's heading, a caveat that every claim of one side carries in its note (the profile's
    data and schedule, typically) is said once for that side and left out of the rows; a row keeps
    what is its own (a failed premise, say).

    Without ``edition_dir``, or with one that holds no edition yet (then a line says so), only this
    build's column is shown. ``root``: the checkout whose ``HEAD`` an edition's commit is compared
    with (default: this package's).
    """
    build = _read_all(Path(results_dir))
    if not build:
        raise FileNotFoundError(f"no chapter results in {results_dir}: execute the chapters first (make book)")
    edition, sides, about_edition, statuses = {}, [("this build", build)], [], {}
    if edition_dir is not None:
        manifest = read_edition(edition_dir)
        if manifest is None:  # no column of dashes for an edition that does not exist: one line says so
            about_edition = ["**GPU edition**: none has been made yet, so only this build is shown "
                             f"({{doc}}`what it is and how to make it <chapters/{OVERVIEW}>`).", ""]
        else:
            edition = _read_all(Path(edition_dir) / "results")
            statuses = chapter_statuses(manifest, Path(root) if root is not None else ROOT)
            status = overall_status(statuses)
            line = (f"**GPU edition** ({{doc}}`its pages <chapters/{OVERVIEW}>`): "
                    f"{provenance_text(manifest)}")
            about_edition = ([line, "", "```{warning}", status["message"], "```", ""] if status["stale"]
                             else [f"{line} {status['message']}", ""])
            sides = [("GPU edition", edition), ("this build", build)]
    out = [f"**The verdict rule**, the same for every claim on every side (`lsnb.methods.stats`): {RULE}.", ""]
    out += _tally_rows(list(reversed(sides))) + [""]  # this build's tally first, the edition's below it
    out += about_edition
    for chapter in sorted(set(build) | set(edition)):
        here = [(name, results.get(chapter)) for name, results in sides]
        first = next(r for _, r in reversed(here) if r is not None)
        out += [f"## {first['title']}", ""]
        if chapter in statuses and statuses[chapter]["stale"]:  # each chapter of the edition has its own code
            out += ["```{warning}", f"GPU edition: {statuses[chapter]['message']}", "```", ""]
        elif edition and chapter not in edition:
            out += ["*GPU edition*: this chapter is not in it yet.", ""]
        shared = {name: _shared_note((r or {}).get("claims", [])) for name, r in here}
        for name, parts in shared.items():
            if parts:
                caveat = "; ".join(parts)
                out += [_cell(f"*{name[0].upper() + name[1:]}*: {caveat}" + ("" if caveat.endswith(".") else ".")),
                        ""]
        out += _meta_rows(here) + [""]
        claims = {}  # claim text -> {side: claim}, in this build's order, then the edition's own
        for name, r in reversed(here):
            for c in (r or {}).get("claims", []):
                claims.setdefault(c["claim"], {})[name] = c
        out += ["| claim | paper | " + " | ".join(name for name, _ in sides) + " |", "|---|---|" + "---|" * len(sides)]
        for text, by_side in claims.items():
            first_side = next(iter(by_side.values()))  # this build's wording where it has the claim
            paper, premise = first_side["paper"], first_side.get("premise")
            shown = f"{text} (testable where: {premise})" if premise else text
            out.append(f"| {_cell(shown)} | {_cell(paper)} | "
                       + " | ".join(_verdict_cell(by_side.get(name), shared[name]) for name, _ in sides) + " |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    """``python -m lsnb.build.scorecard RESULTS_DIR OUT.md [--edition EDITION_DIR]``: write the scorecard table.

    A usage error exits with 2 (argparse's); no chapter results or a broken edition returns 1.
    """
    parser = argparse.ArgumentParser(prog="python -m lsnb.build.scorecard", description="Write the book's scorecard table.")
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="the chapters' results files (<chapter>.json)")
    parser.add_argument("out", metavar="OUT.md", help="where to write the table (MyST markdown)")
    parser.add_argument("--edition", metavar="EDITION_DIR", help="the GPU edition to set beside this build")
    args = parser.parse_args(argv)
    try:
        text = render_scorecard(args.results_dir, args.edition)
    except (FileNotFoundError, EditionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    atomic_write_bytes(Path(args.out), text.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
