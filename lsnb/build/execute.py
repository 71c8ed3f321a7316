"""The chapters executed as ``make book`` runs them: one progress line per chapter, papermill's whole output in
a log file (:func:`execute_chapters`)."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..book.glue import duration_text

ROOT = Path(__file__).resolve().parents[2]


class EditionError(ValueError):
    """An edition that cannot be written or rendered: what is wrong and what to do."""


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
          f"papermill's output: {shown(log_dir, root)}/", file=stream, flush=True)
    # the kernels run in root: paths inside it are passed relative, so that notebooks do not show this machine's
    params = {"profile": profile, "results_dir": shown(results_dir, root), **(parameters or {})}
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
            print(f"--- the last {tail} lines of {shown(log, root)}:\n{log_tail(log, tail)}\n---", file=stream,
                  flush=True)
            raise EditionError(f"chapter {name} failed on profile {profile}: see {log}")
        done.append({"chapter": name, "seconds": round(seconds, 1), "log": str(log)})
    return done


def shown(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` where it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)

