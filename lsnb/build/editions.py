"""Editions of the book: every chapter executed on one profile, kept with a manifest, shown by every build.

``make book`` executes the chapters (:func:`lsnb.build.execute.execute_chapters`: one progress line per chapter,
papermill's whole output in a log file). ``make book PROFILE=gpu`` then keeps that execution
as the GPU edition (:func:`write_edition`): the executed notebooks (outputs kept, figures as
PNG, anything large dropped), their results files and ``manifest.json`` -- GPU, torch and
CUDA versions, git commit, date, wall time per chapter -- in ``book/editions/gpu/``, which
is committed. Every build, on any machine and profile, renders the committed edition as a
part of its own (:func:`lsnb.build.staging.stage_edition`: an overview page and the edition's chapters beside
the freshly executed ones), and the scorecard (:func:`lsnb.build.scorecard.render_scorecard`) sets
its verdicts beside the build's. A page of an edition made from other code than the build's
says so (:func:`lsnb.build.manifest.edition_status`).

``python -m lsnb.build.editions execute|write|stage ...`` (see :func:`main`) is what the Makefile runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..book.glue import duration_text
from ..engine.store import atomic_write_json, read_json
from .execute import ROOT, EditionError, chapter_names, execute_chapters
from .manifest import MANIFEST, SETTINGS, chapter_record, make_manifest, read_edition, sha256, with_dependencies
from .staging import stage_edition

MAX_OUTPUT_BYTES = 2_000_000     # one output larger than this is dropped from an edition's notebook
DROPPED_MIME = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json",
                "application/pdf")


def notebook_parameters(nb) -> dict:
    """The parameters papermill injected into an executed notebook."""
    return dict(nb.metadata.get("papermill", {}).get("parameters", {}))


def notebook_duration(nb) -> float | None:
    """Papermill's record of how long the notebook took to execute, in seconds."""
    d = nb.metadata.get("papermill", {}).get("duration")
    return round(float(d), 1) if d is not None else None


def slim(nb) -> list[str]:
    """Strip what an edition need not keep, in place; returns what was dropped, in words.

    Widget state and stderr streams (the book hides them), SVG and PDF copies of figures
    that also have a PNG, and any single output over :data:`MAX_OUTPUT_BYTES` (replaced by a
    line saying so); papermill's absolute input/output paths become file names.
    """
    dropped = []
    nb.metadata.pop("widgets", None)
    pm = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if pm.get(key):
            pm[key] = Path(pm[key]).name
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            data = out.get("data")
            if data is not None:
                for mime in list(data):
                    if mime in DROPPED_MIME or (mime == "image/svg+xml" and "image/png" in data):
                        del data[mime]
                size = sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())
                if size > MAX_OUTPUT_BYTES:
                    dropped.append(f"an output of {size / 1e6:.1f} MB")
                    out["data"] = {"text/plain": f"[an output of {size / 1e6:.1f} MB is not kept in the edition]"}
            outputs.append(out)
        cell["outputs"] = outputs
    return dropped


def write_edition(chapters_dir: Path | str, dest: Path | str, *, names=None, profile: str | None = None,
                  root: Path = ROOT, env: dict | None = None, command: str | None = None) -> Path:
    """Add the executed chapters of ``chapters_dir`` to the edition ``dest``; returns the manifest's path.

    ``chapters_dir`` is what :func:`lsnb.build.execute.execute_chapters` wrote: ``<name>.ipynb`` and
    ``results/<name>.json`` for every chapter of ``names`` (default: every chapter), all
    executed on ``profile`` (default: the first notebook's). They replace their older copies in
    the edition, each with its own provenance; the edition's other chapters are kept as they
    were. ``dest`` is replaced as a whole (built beside it, then renamed), so a failure leaves
    the old edition in place, and a chapter is added only when all of ``names`` are there.
    """
    import nbformat

    chapters_dir, dest, root = Path(chapters_dir), Path(dest), Path(root)
    names = list(names) if names is not None else chapter_names(root)
    if not names:
        raise EditionError("no chapters to keep: notebooks/ holds no NN_slug.md")
    records, notebooks = [], {}
    for name in names:
        nb_path, res_path = chapters_dir / f"{name}.ipynb", chapters_dir / "results" / f"{name}.json"
        for p in (nb_path, res_path):
            if not p.exists():
                raise EditionError(f"{p} is missing: an edition keeps every chapter, executed (make book)")
        nb = nbformat.read(nb_path, as_version=4)
        ran_on = notebook_parameters(nb).get("profile")
        profile = profile or ran_on
        results = read_json(res_path)
        meta = results.get("meta") or {}
        if ran_on != profile or meta.get("profile", profile) != profile:
            raise EditionError(f"{nb_path} was executed on profile {ran_on!r} (results: {meta.get('profile')!r}), "
                               f"not {profile!r}: an edition is one profile; execute every chapter on it")
        dropped = slim(nb)
        notebooks[name] = nb
        records.append({"chapter": name, "title": results.get("title", name), "wall_s": notebook_duration(nb),
                        "meta": meta, "dropped": dropped})
    kept = {}
    old_manifest = read_edition(dest)  # a broken one fails here, before anything is written
    if old_manifest is not None:
        if old_manifest["profile"] != profile:
            raise EditionError(f"{dest} is an edition of profile {old_manifest['profile']!r}, these chapters ran on "
                               f"{profile!r}: an edition is one profile (delete {dest} to start another)")
        kept = {c["chapter"]: chapter_record(old_manifest, c) for c in old_manifest["chapters"]
                if c["chapter"] not in notebooks}
        records += [{k: v for k, v in c.items() if k not in ("edition", "chapters", "files", "total_bytes",
                                                              "total_wall_s")} for c in kept.values()]
    manifest = make_manifest(records, profile=profile, edition=dest.name, root=root, env=env, command=command)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}-*"):  # the temporary folders of writes that were killed
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        tmp.chmod(0o755)
        (tmp / "results").mkdir()
        files = {}
        for name, nb in notebooks.items():
            nbformat.write(nb, tmp / f"{name}.ipynb")
            shutil.copyfile(chapters_dir / "results" / f"{name}.json", tmp / "results" / f"{name}.json")
        for name in kept:
            for rel in (f"{name}.ipynb", f"results/{name}.json"):
                shutil.copyfile(dest / rel, tmp / rel)
        for name in [*notebooks, *kept]:
            for rel in (f"{name}.ipynb", f"results/{name}.json"):
                files[rel] = {"bytes": (tmp / rel).stat().st_size, "sha256": sha256(tmp / rel)}
        manifest["files"] = files
        manifest["total_bytes"] = sum(f["bytes"] for f in files.values())
        atomic_write_json(tmp / MANIFEST, manifest)
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest / MANIFEST


# ----------------------------------------------------------------------------- adding chapters

def next_group(edition_dir: Path | str, root: Path = ROOT) -> list[str]:
    """The next chapters an edition lacks: the first chapter not in it, with those it reuses
    (:func:`lsnb.build.manifest.with_dependencies`); empty when it has every chapter."""
    manifest = read_edition(edition_dir)
    have = {c["chapter"] for c in manifest["chapters"]} if manifest is not None else set()
    lacking = [name for name in chapter_names(root) if name not in have]
    return with_dependencies(lacking[:1]) if lacking else []  # with those built on it: made once, together


def make_chapters(names, *, profile: str, dest: Path | str, build: Path | str, root: Path = ROOT,
                  stream=None) -> Path | None:
    """Execute ``names`` with the chapters they reuse on ``profile`` into ``build``, then add them to the
    edition ``dest`` (:func:`write_edition`: only when every one succeeded). Returns the manifest's path,
    or None when there was nothing to make."""
    names = with_dependencies(names)
    if not names:
        print("The edition has every chapter; name some to make them again.", file=stream or sys.stdout)
        return None
    unknown = sorted(set(names) - set(chapter_names(root)))
    if unknown:
        raise EditionError(f"no chapter {', '.join(unknown)}: the chapters are {', '.join(chapter_names(root))}")
    execute_chapters(names, profile=profile, out_dir=build, root=root, stream=stream)
    return write_edition(build, dest, names=names, profile=profile, root=root,
                         command=f"make edition CHAPTERS=\"{' '.join(names)}\" PROFILE={profile}"
                                 + "".join(f" {k}={os.environ[k]}" for k in SETTINGS if os.environ.get(k)))


# ----------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    """``python -m lsnb.build.editions execute|write|stage``; see ``--help`` of each."""
    parser = argparse.ArgumentParser(prog="python -m lsnb.build.editions", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute chapters with papermill, one line each, the output in logs")
    ex.add_argument("chapters", nargs="*", help="chapter names (default: every notebooks/NN_slug.md)")
    ex.add_argument("--profile", required=True)
    ex.add_argument("--out", required=True, help="folder for the executed notebooks (book/chapters)")
    ex.add_argument("--results", help="the chapters' results_dir (default OUT/results)")
    ex.add_argument("--logs", help="papermill's output, one log per chapter (default OUT/logs)")
    wr = sub.add_parser("write", help="keep executed chapters as an edition (notebooks, results, manifest)")
    wr.add_argument("dest", help="the edition folder (book/editions/gpu)")
    wr.add_argument("--chapters", required=True, help="where execute wrote them (book/chapters)")
    wr.add_argument("--profile", help="the profile every chapter must have run on (default: the first's)")
    mk = sub.add_parser("make", help="execute chapters (and those they reuse) and add them to an edition")
    mk.add_argument("chapters", nargs="*", help="chapter names (default: the next ones the edition lacks)")
    mk.add_argument("--profile", default="gpu")
    mk.add_argument("--dest", required=True, help="the edition folder (book/editions/gpu)")
    mk.add_argument("--build", required=True, help="a scratch folder for the executed chapters")
    st = sub.add_parser("stage", help="write the edition's part of the book (overview page, relabelled chapters)")
    st.add_argument("edition", help="the edition folder (book/editions/gpu); need not exist")
    st.add_argument("out", help="the book's generated chapters folder (book/chapters)")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            execute_chapters(args.chapters or chapter_names(), profile=args.profile, out_dir=args.out,
                             results_dir=args.results, log_dir=args.logs)
        elif args.command in ("write", "make"):
            path = (write_edition(args.chapters, args.dest, profile=args.profile) if args.command == "write" else
                    make_chapters(args.chapters or next_group(args.dest), profile=args.profile, dest=args.dest,
                                  build=args.build))
            if path is not None:
                m = read_json(path)
                print(f"Edition written: {path.parent}/ ({m['total_bytes'] / 1e6:.1f} MB, {len(m['chapters'])} "
                      f"chapters, {duration_text(m['total_wall_s'])} in all on {m.get('gpu') or 'no GPU'}); commit it")
        else:
            pages = stage_edition(args.edition, args.out)
            print(f"GPU edition part: {len(pages) - 1} chapters" if len(pages) > 1 else
                  "GPU edition part: no edition committed yet (the part says so)")
    except EditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
