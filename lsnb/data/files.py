"""Files written whole or not at all, and read back checked: the run store's, the corpora's, the results'.

A file is written to a temporary name in its folder and renamed into place (:func:`atomic_write_bytes`),
so a killed process never leaves a half-written file under the real name; a JSON file that cannot be
read back raises :class:`CorruptRunFile`, which says what to do about it (:func:`remedy`).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class CorruptRunFile(RuntimeError):
    """A file of the run store cannot be read back: truncated, garbage, or not what it should be."""


def remedy(path: Path) -> str:
    """What to do about an unreadable file of a run, by what the file is."""
    path = Path(path)
    if path.name.startswith("logits_"):
        return f"delete {path}: it is recomputed from the trained model"
    if path.name == "checkpoint.pt":
        return f"delete it to retrain that run (or delete {path.parent})"
    run = path.parent.parent if path.parent.name == "snapshots" else path.parent
    return f"delete the run folder {run} to retrain that run"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a run store may be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def read_json(path: Path, kind: type | None = None):
    """A JSON file of the run store; a truncated or garbage one raises :class:`CorruptRunFile` naming it and
    what to do. Given ``kind`` (``dict`` or ``list``: a file every finished run has), a missing one, or one
    that holds something else, such as ``null``, does too."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        if kind is None:
            raise
        raise CorruptRunFile(f"{path} is missing; {remedy(path)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptRunFile(f"{path} is not valid JSON ({exc}); {remedy(path)}") from None
    if kind is not None and not isinstance(value, kind):
        raise CorruptRunFile(f"{path} holds {type(value).__name__} {str(value)[:40]!r}, not the {kind.__name__} "
                             f"lsnb writes there; {remedy(path)}")
    return value
