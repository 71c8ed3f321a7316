"""Editions of the book: every chapter executed on one profile, kept with a manifest, shown by every build.

``make book`` executes the chapters (:func:`execute_chapters`: one progress line per chapter,
papermill's whole output in a log file). ``make book PROFILE=gpu`` then keeps that execution
as the GPU edition (:func:`write_edition`): the executed notebooks (outputs kept, figures as
PNG, anything large dropped), their results files and ``manifest.json`` -- GPU, torch and
CUDA versions, git commit, date, wall time per chapter -- in ``book/editions/gpu/``, which
is committed. Every build, on any machine and profile, renders the committed edition as a
part of its own (:func:`stage_edition`: an overview page and the edition's chapters beside
the freshly executed ones), and the scorecard (:func:`lsnb.build.scorecard.render_scorecard`) sets
its verdicts beside the build's. A page of an edition made from other code than the build's
says so (:func:`edition_status`).

``python -m lsnb.build.editions execute|write|stage ...`` (see :func:`main`) is what the Makefile runs.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..book.glue import duration_text
from ..engine.machine import cpu_model
from ..engine.store import atomic_write_bytes, atomic_write_json, read_json

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = "manifest.json"
PREFIX = "gpu_"                  # staged pages: book/chapters/gpu_00_edition.md, gpu_NN_slug.ipynb
LABEL_PREFIX = "gpu-"            # the edition's labels, so that they do not clash with the build's own
OVERVIEW = f"{PREFIX}00_edition"
# What enters a chapter's execution: a change here since an edition's commit can change its numbers.
CODE_PATHS = ("lsnb", "notebooks", "requirements.txt", "pyproject.toml", "Makefile")
# Settings a build takes from the environment that change what it trains: the manifest's command names them.
SETTINGS = ("LSNB_CIFAR10", "LSNB_WORKERS", "LSNB_PRECISION")
MAX_OUTPUT_BYTES = 2_000_000     # one output larger than this is dropped from an edition's notebook
DROPPED_MIME = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json",
                "application/pdf")


class EditionError(ValueError):
    """An edition that cannot be written or rendered: what is wrong and what to do."""


# ----------------------------------------------------------------------------- executing the chapters

def chapter_names(root: Path = ROOT) -> list[str]:
    """The chapters, in order: the stems of ``notebooks/NN_slug.md`` (the Makefile's ``CHAPTERS``)."""
    return sorted(p.stem for p in (Path(root) / "notebooks").glob("[0-9][0-9]*_*.md"))


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file."""
    text = Path(path).read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def execute_chapters(names, *, profile: str, out_dir: Path | str, results_dir: Path | str | None = None,
                     log_dir: Path | str | None = None, root: Path = ROOT, parameters: dict | None = None,
                     stream=None, tail: int = 40) -> list[dict]:
    """Execute each chapter source ``notebooks/<name>.md`` with papermill into ``out_dir/<name>.ipynb``.

    The chapters' parameters cell gets ``profile`` and ``results_dir`` (default ``out_dir/results``)
    and ``parameters``; they run with ``root`` as working directory. One line per chapter goes
    to ``stream`` (name, profile, wall time, OK/FAILED); papermill's whole output, every cell's
    included, to ``log_dir/<name>.log`` (default ``out_dir/logs``). The first failure stops:
    its log's last ``tail`` lines are printed and :class:`EditionError` raised. Returns one
    record per chapter: name, seconds, log path.
    """
    stream = stream or sys.stdout
    out_dir, root = Path(out_dir).resolve(), Path(root).resolve()
    results_dir = Path(results_dir).resolve() if results_dir is not None else out_dir / "results"
    log_dir = Path(log_dir).resolve() if log_dir is not None else out_dir / "logs"
    for d in (out_dir, results_dir, log_dir):
        d.mkdir(parents=True, exist_ok=True)
    names = list(names)
    width = max(map(len, names), default=0)
    print(f"Executing {len(names)} chapter{'s' if len(names) != 1 else ''} on profile {profile}; "
          f"papermill's output: {_shown(log_dir, root)}/", file=stream, flush=True)
    # the kernels run in root: paths inside it are passed relative, so that notebooks do not show this machine's
    params = {"profile": profile, "results_dir": _shown(results_dir, root), **(parameters or {})}
    done = []
    for name in names:
        source, log = root / "notebooks" / f"{name}.md", log_dir / f"{name}.log"
        print(f"  {name:<{width}}  {profile:<6} ", end="", file=stream, flush=True)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lsnb-chapter-") as tmp, open(log, "w") as log_file:
            src = Path(tmp) / f"{name}.ipynb"
            steps = [[sys.executable, "-m", "jupytext", "--quiet", "--to", "ipynb", "--output", str(src), str(source)],
                     [sys.executable, "-m", "papermill", "--log-output", "--no-progress-bar", "--cwd", str(root),
                      *[a for k, v in params.items() for a in ("-p", k, str(v))], str(src),
                      str(out_dir / f"{name}.ipynb")]]
            ok = all(subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT, cwd=root).returncode == 0
                     for cmd in steps)
        seconds = time.perf_counter() - t0
        print(f"{duration_text(seconds):>9}  {'OK' if ok else 'FAILED'}", file=stream, flush=True)
        if not ok:
            print(f"--- the last {tail} lines of {_shown(log, root)}:\n{log_tail(log, tail)}\n---", file=stream,
                  flush=True)
            raise EditionError(f"chapter {name} failed on profile {profile}: see {log}")
        done.append({"chapter": name, "seconds": round(seconds, 1), "log": str(log)})
    return done


def _shown(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` where it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- writing an edition

def git(root: Path, *args) -> str | None:
    """``git args`` in ``root``: its stripped output, or None when git or the repository cannot answer."""
    try:
        r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def environment() -> dict:
    """This machine as a manifest records it: GPU (None without CUDA), torch, CUDA, cuDNN, Python, CPU, OS."""
    import torch

    cuda = torch.cuda.is_available()
    return {"gpu": torch.cuda.get_device_name(0) if cuda else None,
            "gpu_count": torch.cuda.device_count() if cuda else 0,
            "torch": torch.__version__, "cuda": torch.version.cuda if cuda else None,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
            "python": platform.python_version(), "cpu": cpu_model(), "cpu_cores": os.cpu_count(),
            "platform": platform.platform()}


def data_digests() -> dict:
    """The prepared translation corpora this machine has, by their digest (``meta.json``; see :mod:`lsnb.data.text`)."""
    from ..data.images import default_root

    out = {}
    for meta in sorted(default_root().glob("*/meta.json")):
        try:
            out[meta.parent.name] = read_json(meta).get("digest")
        except Exception:  # not a corpus of ours
            continue
    return out


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# A chapter that reuses another's trained runs: an edition makes them together (the run store of the machine
# that makes it starts empty), and the chapter's page names the one it builds on.
DEPENDS = {"03_calibration": ("02_representations",)}


def with_dependencies(names) -> list[str]:
    """``names`` with the chapters they reuse and the chapters that reuse them (:data:`DEPENDS`), in chapter
    order, each once: a chapter and the chapters built on its runs are made together, so that none of them
    claims runs another execution made."""
    out = set(names)
    for name in names:
        out |= set(DEPENDS.get(name, ()))
        out |= {user for user, used in DEPENDS.items() if name in used}
    return sorted(out)


def make_manifest(chapters: list[dict], *, profile: str, edition: str = "gpu", root: Path = ROOT,
                  env: dict | None = None, command: str | None = None,
                  now: datetime.datetime | None = None) -> dict:
    """The manifest of an edition written now with ``chapters``: where, when and from what code they were
    executed, at the top and in each chapter's own record (an edition gathers chapters made at different
    commits, on different days; the top holds this write's).

    ``chapters``: one dict per chapter with ``chapter``, ``title``, ``wall_s`` (papermill's duration)
    and ``meta`` (the chapter's results "meta": profile, hardware, seeds, epochs, wall_s); a record
    that already carries its ``made`` (a chapter kept from an earlier write) keeps its provenance.
    """
    root = Path(root)
    env = env if env is not None else environment()
    dirty = git(root, "diff", "--name-only", "HEAD", "--", *CODE_PATHS)  # uncommitted changes to the code
    settings = {k: os.environ[k] for k in SETTINGS if os.environ.get(k)}
    made = {"profile": profile,
            "made": (now or datetime.datetime.now(datetime.timezone.utc)).isoformat(timespec="seconds"),
            "command": command or " ".join([f"make book PROFILE={profile}"]
                                           + [f"{k}={v}" for k, v in settings.items()]),
            "data": data_digests(), "commit": git(root, "rev-parse", "HEAD"),
            "dirty": sorted(dirty.split()) if dirty else [], **env}
    records = []
    for c in chapters:
        if "made" in c:
            records.append(c)
            continue
        hardware = (c.get("meta") or {}).get("hardware")
        records.append({**made, **c, "hardware": hardware, "builds_on": list(DEPENDS.get(c["chapter"], ()))})
    records.sort(key=lambda c: c["chapter"])
    hardware = sorted({c["meta"]["hardware"] for c in chapters if c.get("meta", {}).get("hardware")})
    walls = [c.get("wall_s") for c in records]
    return {
        "edition": edition, **made,
        "hardware": hardware[0] if len(hardware) == 1 else hardware or None,
        "total_wall_s": round(sum(w for w in walls if w is not None), 1) if any(w is not None for w in walls) else None,
        "chapters": records,
    }


def chapter_record(manifest: dict, chapter: dict) -> dict:
    """A chapter's provenance: its own record over the manifest's top (which an edition written before
    chapters had their own provenance holds for all of them)."""
    return {**manifest, **chapter}


def write_edition(chapters_dir: Path | str, dest: Path | str, *, names=None, profile: str | None = None,
                  root: Path = ROOT, env: dict | None = None, command: str | None = None) -> Path:
    """Add the executed chapters of ``chapters_dir`` to the edition ``dest``; returns the manifest's path.

    ``chapters_dir`` is what :func:`execute_chapters` wrote: ``<name>.ipynb`` and
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
                files[rel] = {"bytes": (tmp / rel).stat().st_size, "sha256": _sha256(tmp / rel)}
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


# ----------------------------------------------------------------------------- reading and rendering one

def read_edition(edition_dir: Path | str) -> dict | None:
    """The edition's manifest, checked: None when there is no edition; :class:`EditionError` when it is broken.

    Every chapter the manifest lists must have its notebook and results file, unchanged
    since the edition was written (their sha256 is in the manifest).
    """
    edition_dir = Path(edition_dir)
    old = edition_dir.with_name(f".{edition_dir.name}.old")
    if not edition_dir.exists():
        if old.exists():  # a write killed between moving the old edition aside and putting the new one in place
            raise EditionError(f"writing the edition {edition_dir} was interrupted: the previous edition is in {old}. "
                               f"Put it back with: mv {old} {edition_dir} (or delete {old} and re-make the edition)")
        return None
    path = edition_dir / MANIFEST
    remedy = f"re-make it (make edition or make book PROFILE=gpu on a GPU machine) or delete {edition_dir}"
    if not path.exists():
        raise EditionError(f"{edition_dir} holds no {MANIFEST}: {remedy}")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise EditionError(f"{path} is not valid JSON ({exc}): {remedy}") from None
    if not isinstance(manifest, dict):
        raise EditionError(f"{path} holds {type(manifest).__name__}, not a manifest: {remedy}")
    for key in ("profile", "chapters", "files"):
        if key not in manifest:
            raise EditionError(f"{path} has no {key!r}: {remedy}")
    for rel, want in manifest["files"].items():
        f = edition_dir / rel
        if not f.exists():
            raise EditionError(f"{f} is missing from the edition: {remedy}")
        if _sha256(f) != want["sha256"]:
            raise EditionError(f"{f} changed after the edition was written (sha256 differs): {remedy}")
    for c in manifest["chapters"]:
        for rel in (f"{c['chapter']}.ipynb", f"results/{c['chapter']}.json"):
            if rel not in manifest["files"]:
                raise EditionError(f"{path} lists chapter {c['chapter']} without its file {rel}: {remedy}")
    return manifest


def edition_status(manifest: dict, root: Path = ROOT) -> dict:
    """How the edition's code relates to this build's: ``{"stale": bool, "message": str}``.

    Stale when the files that enter the chapters' execution (:data:`CODE_PATHS`) differ
    between the edition's commit and this checkout's ``HEAD``, or when git cannot tell.
    A later commit that only adds the edition itself (or changes docs and tests) is not stale.
    """
    commit, head = manifest.get("commit"), git(root, "rev-parse", "HEAD")
    short = (commit or "unknown")[:10]
    dirty = manifest.get("dirty") or []
    extra = (f" It was made with uncommitted changes to {', '.join(dirty[:5])}"
             f"{' and more' if len(dirty) > 5 else ''}." if dirty else "")
    if commit is not None and not (isinstance(commit, str) and len(commit) == 40
                                   and all(ch in "0123456789abcdef" for ch in commit)):
        return {"stale": True, "message": f"Its manifest records the commit as {commit!r}, not a commit id (40 "
                                          "hexadecimal digits), so whether this build's code is the edition's "
                                          f"cannot be checked. Re-make it with make edition CHAPTERS=... on a "
                                          f"GPU.{extra}"}
    if commit is None or head is None:
        where = "this build's commit is unknown (not a git checkout)" if head is None else "its commit was not recorded"
        return {"stale": True, "message": f"Made from commit {short}; {where}, so whether this build's code "
                                          f"is the edition's cannot be checked.{extra}"}
    if commit == head:
        return {"stale": bool(dirty), "message": f"Made from this build's commit, {short}.{extra}"}
    if git(root, "cat-file", "-e", f"{commit}^{{commit}}") is None:
        return {"stale": True, "message": f"Made from commit {short}, which this checkout does not have (a shallow "
                                          f"clone?), so it may be older than this build ({head[:10]}).{extra}"}
    changed = (git(root, "diff", "--name-only", commit, head, "--", *CODE_PATHS) or "").split()
    if not changed:
        return {"stale": bool(dirty), "message": f"Made from commit {short}; this build ({head[:10]}) runs the same "
                                                 f"code (later commits changed no file the chapters execute).{extra}"}
    older = git(root, "merge-base", "--is-ancestor", commit, head) is not None
    shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
    return {"stale": True, "message": (
        f"Made from {'an older' if older else 'another'} commit, {short}, than this build ({head[:10]}): "
        f"{len(changed)} file{'s' if len(changed) != 1 else ''} the chapters execute changed since ({shown}), so its "
        f"numbers may differ from what this code gives. Re-make it with make edition CHAPTERS=... on a GPU.{extra}")}


def _admonition(status: dict | None, body: str) -> str:
    status = status or {"stale": False, "message": ""}
    kind = "warning" if status["stale"] else "note"
    return f"```{{admonition}} GPU edition\n:class: {kind}\n\n{body}\n\n{status['message']}\n```\n"


def made_text(manifest: dict) -> str:
    """When the edition was made, in words (``"2026-11-25 17:22 UTC"``)."""
    try:
        made = datetime.datetime.fromisoformat(manifest["made"]).astimezone(datetime.timezone.utc)
    except (KeyError, TypeError, ValueError):
        return "on a date not recorded"
    return f"on {made:%Y-%m-%d %H:%M} UTC"


def machine_text(manifest: dict) -> str:
    """The machine that made the edition: its GPU, or its CPU when it had none."""
    if manifest.get("gpu"):
        count = manifest.get("gpu_count") or 1
        return f"{'' if count == 1 else f'{count} x '}{manifest['gpu']}"
    cores = f", {manifest['cpu_cores']} cores" if manifest.get("cpu_cores") else ""
    return f"a CPU without GPU ({manifest.get('cpu') or 'model not recorded'}{cores})"


def provenance_text(manifest: dict, chapter: dict | None = None) -> str:
    """One sentence: profile, machine, versions, date and wall time -- of the edition's latest write and its
    chapters together, or of one ``chapter`` of it (its own record, :func:`chapter_record`)."""
    m = manifest if chapter is None else chapter_record(manifest, chapter)
    versions = " and ".join(f"{name} {m[k]}" for k, name in (("torch", "torch"), ("cuda", "CUDA")) if m.get(k))
    how = (f"by {m.get('command', 'make book')} on {machine_text(m)}{f' with {versions}' if versions else ''} "
           f"{made_text(m)}")
    if chapter is not None:
        return f"Executed on the {m['profile']} profile {how}, in {duration_text(m.get('wall_s'))}."
    n = len(manifest.get("chapters", []))
    return (f"{n} chapter{'s' if n != 1 else ''} executed on the {m['profile']} profile, "
            f"{duration_text(manifest.get('total_wall_s'))} in all; the latest were added {how}, each chapter's own "
            "provenance is on its page.")


def chapter_statuses(manifest: dict, root: Path = ROOT) -> dict:
    """:func:`edition_status` of every chapter of the edition, by its own provenance: ``{chapter: status}``."""
    return {c["chapter"]: edition_status(chapter_record(manifest, c), root) for c in manifest["chapters"]}


def overall_status(statuses: dict) -> dict | None:
    """One status for the whole edition: stale when any chapter is, naming them."""
    if not statuses:
        return None
    stale = [name for name, s in statuses.items() if s["stale"]]
    if not stale:
        return {"stale": False, "message": next(iter(statuses.values()))["message"] if len(statuses) == 1
                else "Every chapter was made from the code this build runs."}
    return {"stale": True, "message": f"{len(stale)} of {len(statuses)} chapters were made from other code than "
                                      f"this build's ({', '.join(stale)}); each one's page says what changed."}


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
    shown = _shown(edition_dir, root)
    overview = out_dir / f"{OVERVIEW}.md"
    atomic_write_bytes(overview, overview_page(manifest, statuses, shown, root).encode())
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


# ----------------------------------------------------------------------------- adding chapters

def next_group(edition_dir: Path | str, root: Path = ROOT) -> list[str]:
    """The next chapters an edition lacks: the first chapter not in it, with those it reuses
    (:func:`with_dependencies`); empty when it has every chapter."""
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
