"""An edition's manifest: the machine, code and settings it records (:func:`make_manifest`), read back and
checked (:func:`read_edition`), set against the build's code (:func:`edition_status`), said in words."""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

from ..book.glue import duration_text
from ..engine.machine import cpu_model
from ..engine.store import read_json
from .execute import ROOT, EditionError

MANIFEST = "manifest.json"
# What enters a chapter's execution: a change here since an edition's commit can change its numbers.
CODE_PATHS = ("lsnb", "notebooks", "requirements.txt", "pyproject.toml", "Makefile")
# Settings a build takes from the environment that change what it trains: the manifest's command names them.
SETTINGS = ("LSNB_CIFAR10", "LSNB_WORKERS", "LSNB_PRECISION")


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



def sha256(path: Path) -> str:
    """The SHA-256 of a file, as the manifest records each of an edition's files."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# A chapter that reuses another's trained runs: an edition makes them together (the run store of the machine
# that makes it starts empty), and the chapter's page names the one it builds on.
DEPENDS = {"03_calibration": ("02_representations",), "05_later_claims": ("02_representations",)}


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


def read_edition(edition_dir: Path | str) -> dict | None:
    """The edition's manifest, checked: None when there is no edition; :class:`lsnb.build.execute.EditionError` when it is broken.

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
        if sha256(f) != want["sha256"]:
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


