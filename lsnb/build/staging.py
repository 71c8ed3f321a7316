"""The committed edition rendered as a part of every build: an overview page and the edition's chapters,
relabelled and retitled, beside the freshly executed ones (:func:`stage_edition`)."""
from __future__ import annotations

import re
from pathlib import Path

from ..book.glue import duration_text
from ..engine.store import atomic_write_bytes
from .execute import ROOT, chapter_names, shown
from .manifest import chapter_record, chapter_statuses, made_text, overall_status, provenance_text, read_edition

PREFIX = "gpu_"                  # staged pages: book/chapters/gpu_00_edition.md, gpu_NN_slug.ipynb
LABEL_PREFIX = "gpu-"            # the edition's labels, so that they do not clash with the build's own
OVERVIEW = f"{PREFIX}00_edition"


def _admonition(status: dict | None, body: str) -> str:
    status = status or {"stale": False, "message": ""}
    kind = "warning" if status["stale"] else "note"
    return f"```{{admonition}} GPU edition\n:class: {kind}\n\n{body}\n\n{status['message']}\n```\n"


def _labels(nb) -> set:
    """The cross-reference targets a notebook defines: figure names in cell metadata, ``:label:``,
    ``:name:`` and ``(label)=`` in its markdown."""
    out = set()
    for cell in nb.cells:
        fig = cell.metadata.get("mystnb", {}).get("figure", {})
        if isinstance(fig, dict) and fig.get("name"):
            out.add(fig["name"])
        if cell.cell_type == "markdown":
            out |= set(re.findall(r"^\s*:(?:label|name):\s*(\S+)\s*$", cell.source, re.M))
            out |= set(re.findall(r"^\(([^()\s]+)\)=\s*$", cell.source, re.M))
    return out


def relabel(nb, labels: set, prefix: str = LABEL_PREFIX) -> None:
    """Prefix the targets ``labels`` and every reference to them ({numref}, {ref}, {eq}, ...) in place."""
    def target(name):
        return prefix + name if name in labels else name

    def role(m):
        body = m.group(2)
        inner = re.match(r"^(.*<)([^<>]+)(>)$", body, re.S)
        body = inner.group(1) + target(inner.group(2)) + inner.group(3) if inner else target(body)
        return f"{{{m.group(1)}}}`{body}`"

    for cell in nb.cells:
        fig = cell.metadata.get("mystnb", {}).get("figure", {})
        if isinstance(fig, dict) and fig.get("name") in labels:
            fig["name"] = prefix + fig["name"]
        if cell.cell_type != "markdown":
            continue
        src = re.sub(r"\{(numref|ref|eq|prf:ref)\}`([^`]+)`", role, cell.source)
        src = re.sub(r"^(\s*:(?:label|name):\s*)(\S+)(\s*)$", lambda m: m.group(1) + target(m.group(2)) + m.group(3),
                     src, flags=re.M)
        cell.source = re.sub(r"^\(([^()\s]+)\)=(\s*)$", lambda m: f"({target(m.group(1))})={m.group(2)}", src,
                             flags=re.M)


def _retitle(nb, suffix: str, banner: str) -> None:
    """Append ``suffix`` to the notebook's first ``# title`` and put ``banner`` right under it (at the top
    when there is no title)."""
    import nbformat

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            new, n = re.subn(r"^(# .+?)[ \t]*$", lambda m: f"{m.group(1)}{suffix}\n\n{banner}", cell.source,
                             count=1, flags=re.M)
            if n:
                cell.source = new
                return
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(banner))


def overview_page(manifest: dict | None, statuses: dict | None, edition_dir: str, root: Path = ROOT) -> str:
    """The edition part's first page: what the edition is, which chapters it has (each with where and when it
    was made) and which it still lacks -- or that there is none yet."""
    head = "# GPU edition\n\n"
    if manifest is None:
        return head + (
            "No GPU edition has been produced yet.\n\n"
            "The chapters above were executed by this build. The GPU edition is the same book executed on the "
            "`gpu` profile -- the paper's networks (AlexNet and ResNet-56 on CIFAR-10, the Hinton et al. networks, "
            "ResNet-56 -> AlexNet for Figure 5, a Transformer-base on the English-German corpus) with three seeds per "
            "verdict, on one GPU -- and committed to the repository, chapter by chapter, so that every build shows it "
            "here and in the scorecard, beside its own chapters. To add chapters to it, run "
            "`make edition CHAPTERS=\"...\"` (or `make gpu-check`) on a machine with one GPU and commit "
            f"`{edition_dir}/` (README: *The GPU edition*).\n")
    rows = ["| chapter | made | commit | code | wall time | seeds |", "|---|---|---|---|---|---|"]
    for c in manifest["chapters"]:
        rec, meta = chapter_record(manifest, c), c.get("meta") or {}
        status = (statuses or {}).get(c["chapter"])
        code = "—" if status is None else "other code (see its page)" if status["stale"] else "this build's"
        rows.append(f"| {{doc}}`{PREFIX}{c['chapter']}` | {made_text(rec)[3:]} | `{(rec.get('commit') or '?')[:10]}` "
                    f"| {code} | {duration_text(c.get('wall_s'))} | {meta.get('seeds', '—')} |")
    lacking = [name for name in chapter_names(root) if name not in {c["chapter"] for c in manifest["chapters"]}]
    missing = (f"Not yet in the edition: {', '.join(lacking)} (`make edition CHAPTERS=\"{' '.join(lacking)}\"` on a "
               "GPU machine adds them).\n" if lacking else "Every chapter of the book is in the edition.\n")
    return head + _admonition(overall_status(statuses or {}), provenance_text(manifest)) + (
        f"\nThe chapters of this part are the committed GPU edition (`{edition_dir}/`), executed on the "
        f"`{manifest['profile']}` profile and shown as they were: this build did not execute them. The chapters "
        "above are this build's own. The {doc}`../scorecard` sets the two side by side, claim by claim. Each "
        "chapter was made on its own day from its own commit:\n\n" + "\n".join(rows) + "\n\n" + missing)


def stage_edition(edition_dir: Path | str, out_dir: Path | str, *, root: Path = ROOT) -> list[Path]:
    """Write the book's GPU edition part into ``out_dir`` (``book/chapters``); returns the pages written.

    Always the overview page ``gpu_00_edition.md`` (which ``_toc.yml``'s glob needs, edition or
    not); with an edition, each of its chapters as ``gpu_<name>.ipynb`` with its labels
    prefixed (they would clash with the build's own chapters), " (GPU edition)" after its
    title and, under it, where and when that chapter was made -- a warning when it was made
    from other code than this build's.
    """
    import nbformat

    edition_dir, out_dir, root = Path(edition_dir), Path(out_dir), Path(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{PREFIX}*"):
        old.unlink()
    manifest = read_edition(edition_dir)
    statuses = chapter_statuses(manifest, root) if manifest is not None else None
    where = shown(edition_dir, root)
    overview = out_dir / f"{OVERVIEW}.md"
    atomic_write_bytes(overview, overview_page(manifest, statuses, where, root).encode())
    written = [overview]
    if manifest is None:
        return written
    notebooks = {c["chapter"]: nbformat.read(edition_dir / f"{c['chapter']}.ipynb", as_version=4)
                 for c in manifest["chapters"]}
    labels = set().union(*(_labels(nb) for nb in notebooks.values()))
    for c in manifest["chapters"]:
        nb = notebooks[c["chapter"]]
        relabel(nb, labels)
        fresh = f"{{doc}}`this build's chapter <{c['chapter']}>`" if (out_dir / f"{c['chapter']}.ipynb").exists() \
            else "this build's chapter"
        builds_on = c.get("builds_on") or []
        reuse = (f" It reuses the trained runs of {', '.join(builds_on)}, made with it." if builds_on else "")
        body = (f"This chapter is the committed GPU edition's. {provenance_text(manifest, c)}{reuse} It was not "
                f"executed by this build; {fresh} was.")
        _retitle(nb, " (GPU edition)", _admonition(statuses[c["chapter"]], body))
        path = out_dir / f"{PREFIX}{c['chapter']}.ipynb"
        nbformat.write(nb, path)
        written.append(path)
    return written


