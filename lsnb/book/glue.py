"""Small helpers that connect a chapter's numbers to the book's text.

* :func:`glue` / :func:`glue_all`: numbers for the prose (myst-nb's ``{glue:text}``);
* :func:`banner` / :func:`glue_banner` / :func:`announce`: the note at the top of every chapter
  that says how the page was made (profile, hardware, seeds, epochs, wall time), with a warning
  on the ``smoke`` profile, and the links that open the chapter on Colab or Kaggle;
* :func:`data_table` / :func:`claims_table`: data tables shown whole (no truncated cells, no row numbers);
* :func:`repository` / :func:`launch_links`: the repository as ``_config.yml`` names it, the one
  place it is written down.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from ..methods.metrics import mean_and_spread

# The book's configuration, beside the package in a checkout of the repository (absent where lsnb
# was installed from git, as on Colab or Kaggle).
BOOK_CONFIG = Path(__file__).resolve().parents[2] / "_config.yml"
BANNER_KEY = "chapter_banner"


def _myst_nb_glue():
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return None
    return _glue


def _display(value) -> None:
    from IPython.display import display as _display_
    _display_(value)


def glue(name: str, value, display: bool = False) -> None:
    """Store ``value`` under ``name`` for ``{glue:}`` in the prose (myst-nb).

    Where myst-nb is missing (Colab, Kaggle) the value is shown when ``display`` is
    set, and otherwise dropped: the prose that cites it is only rendered in the book.
    """
    _glue = _myst_nb_glue()
    if _glue is None:
        if display:
            _display(value)
        return
    _glue(name, value, display=display)


def glue_all(values: dict) -> None:
    """:func:`glue` every ``name: value`` of a dict, in its order (a chapter's numbers for the prose)."""
    for name, value in values.items():
        glue(name, value)


def pm(values, scale: float = 1.0, digits: int = 1) -> str:
    """``"mean ± sd"`` of a list of numbers (sd over seeds, n - 1), after multiplying by ``scale``."""
    mean, sd = mean_and_spread([v * scale for v in values])
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


# ----------------------------------------------------------------------------- tables

class Table:
    """A data table shown whole: every cell in full, wrapped to the page, without pandas' row numbers.

    Made by :func:`data_table`. In Jupyter and in the book it is an HTML table of class
    ``lsnb-table`` (the book's stylesheet ``book/_static/lsnb.css`` wraps it to the text
    column); its plain-text form (``repr``, what nbval compares) is the same table as text.
    """

    def __init__(self, frame: pd.DataFrame, caption: str = ""):
        self.frame = frame
        self.caption = caption

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            out = self.frame.to_html(index=False, border=0, classes="lsnb-table", na_rep="", escape=True)
        if self.caption:
            out = out.replace("<thead>", f"<caption>{html.escape(self.caption)}</caption>\n  <thead>", 1)
        return out.replace(" ± ", " ±&#160;")  # "0.177 ± 0.012" may break before the ±, never after it

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            text = self.frame.to_string(index=False, na_rep="")
        return f"{self.caption}\n{text}" if self.caption else text


def _column_name(column, axis_name=None) -> str:
    parts = column if isinstance(column, tuple) else (column,)
    text = " ".join(str(p) for p in parts if str(p) != "")
    if axis_name and not isinstance(column, (str, tuple)):  # numbers under a named axis: "teacher alpha = 0.1"
        text = f"{axis_name} = {text}"
    return text.replace("_", " ")


def data_table(frame: pd.DataFrame, caption: str = "") -> Table:
    """``frame`` as a :class:`Table` that is shown whole.

    The row labels become ordinary columns when they mean something (named, or not
    ``0, 1, 2, ...``) and are dropped otherwise; multi-level column names are joined
    ("test NLL (nats) mean"), and underscores in names become spaces so that headers wrap.
    """
    f = frame.copy()
    axis_name = f.columns.name if not isinstance(f.columns, pd.MultiIndex) else None
    f.columns = [_column_name(c, axis_name) for c in f.columns]
    if isinstance(f.index, pd.RangeIndex) and not any(f.index.names):
        f = f.reset_index(drop=True)
    else:
        names = [_column_name(n) if n is not None else "" for n in f.index.names]
        f.index = f.index.set_names(names)
        f = f.reset_index(names=names) if len(names) > 1 or names[0] else f.reset_index(names=[""])
    return Table(f, caption)


def claims_table(claims) -> Table:
    """The paper-vs-this-book table that closes a chapter, shown whole (:func:`data_table`)."""
    return data_table(pd.DataFrame([{"claim": c.claim_text(), "paper": c.paper, "this book": c.ours,
                                     "verdict": c.verdict + (f" ({c.note})" if c.note else "")} for c in claims]))


# ----------------------------------------------------------------------------- repository and launch links

def repository(config: Path | str = BOOK_CONFIG) -> dict | None:
    """``{"url": ..., "branch": ...}`` of the book's repository, read from ``_config.yml``
    (``repository.url`` and ``repository.branch``: the one place the URL is written down).

    None where there is no ``_config.yml`` beside the package (lsnb installed from git, as on
    Colab or Kaggle) or no YAML reader.
    """
    path = Path(config)
    if not path.is_file():
        return None
    try:
        import yaml
    except ImportError:
        return None
    repo = (yaml.safe_load(path.read_text()) or {}).get("repository") or {}
    if not repo.get("url"):
        return None
    return {"url": str(repo["url"]).rstrip("/"), "branch": str(repo.get("branch") or "main")}


def launch_urls(chapter: str, repo: dict) -> dict:
    """Where chapter ``chapter`` (e.g. ``"01_label_smoothing"``) opens: the committed notebook
    ``notebooks/<chapter>.ipynb`` on GitHub, on Colab and on Kaggle."""
    url = repo["url"]
    source = f"{url}/blob/{repo['branch']}/notebooks/{chapter}.ipynb"
    github_path = re.sub(r"^https?://github\.com/", "", url)
    return {"Colab": f"https://colab.research.google.com/github/{github_path}/blob/{repo['branch']}"
                     f"/notebooks/{chapter}.ipynb",
            "Kaggle": f"https://kaggle.com/kernels/welcome?src={source}",
            "GitHub": source}


def launch_links(chapter: str, repo: dict | None = None) -> str:
    """Markdown text links (no remote badge images) that open the chapter on Colab or Kaggle or show
    its source; empty where the repository is unknown (:func:`repository`)."""
    repo = repo if repo is not None else repository()
    if repo is None:
        return ""
    urls = launch_urls(chapter, repo)
    return (f"[Open in Colab]({urls['Colab']}) · [Open in Kaggle]({urls['Kaggle']}) · "
            f"[the notebook on GitHub]({urls['GitHub']})")


# ----------------------------------------------------------------------------- the banner

SMOKE_WARNING = ("The `smoke` profile trains tiny networks on slices of the data for an epoch or two, only "
                 "to run every line of code in seconds. **Its numbers and verdicts mean nothing**: read them "
                 "as a test of the code, never as a finding. The `cpu` profile (`make book`), the `gpu` "
                 "profile (one GPU; its GPU edition is part of every build) and the `paper` profile produce "
                 "results.")


def duration_text(seconds: float | None, exact: bool = False) -> str:
    """A duration in words, in its largest unit: ``"42 s"``, ``"3.4 min"``, ``"1.25 h"`` (``"not recorded"``
    for None); ``exact``: in whole units, as a chapter's banner gives it: ``"45 s"``, ``"3 min 05 s"``,
    ``"1 h 02 min"``."""
    if seconds is None:
        return "not recorded"
    if not exact:
        if seconds < 90:
            return f"{seconds:.0f} s"
        return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.2f} h"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _run_facts(setup, details: dict | None = None, wall_s: float | None = None) -> list:
    seeds = list(setup.seeds)
    seed_text = f"{len(seeds)} ({', '.join(str(s) for s in seeds)})" if len(seeds) <= 6 else \
        f"{len(seeds)} ({seeds[0]}-{seeds[-1]})"
    epochs = "the profile's schedule of each network" if setup.epochs is None else str(setup.epochs)
    facts = [("profile", f"`{setup.profile.name}` ({setup.profile.device_note})"),
             ("hardware", setup.hardware or "not recorded"),
             ("dataset", f"`{setup.dataset}`"), ("alpha", f"{setup.alpha:g}"),
             ("seeds", seed_text), ("epochs", epochs)]
    facts += [(name, str(value)) for name, value in (details or {}).items()]
    if wall_s is not None:  # the end of the chapter: its training runs are known
        facts.append(("precision", setup.meta().get("precision", "not recorded") if hasattr(setup, "meta")
                      else "not recorded"))
        facts.append(("wall time", f"{duration_text(wall_s, exact=True)} to execute this page (training runs found in the "
                                   "run store are loaded, not retrained)"))
    return facts


def banner(setup, chapter: str, details: dict | None = None, wall_s: float | None = None,
           repo: dict | None = None) -> str:
    """The note at the top of a chapter, in MyST Markdown: how this page was made (profile,
    hardware, dataset, alpha, seeds, epochs, ``details`` such as a chapter's own parameters,
    wall time) and the links that open it on Colab or Kaggle; on the ``smoke`` profile a
    warning that its numbers and verdicts mean nothing.

    ``setup``: the chapter's :class:`lsnb.chapters.common.ChapterSetup`.
    """
    facts = "\n".join(f"* **{name}**: {value}" for name, value in _run_facts(setup, details, wall_s))
    links = launch_links(chapter, repo)
    out = [":::{admonition} How this page was made", ":class: note lsnb-banner", "",
           facts, ""]
    if links:
        out += [f"Run it yourself: {links}", ""]
    out += [":::", ""]
    if setup.profile.name == "smoke":
        out += [":::{admonition} Smoke profile: the numbers on this page mean nothing",
                ":class: warning lsnb-smoke", "", SMOKE_WARNING, ":::", ""]
    return "\n".join(out)


def plain_summary(setup, details: dict | None = None, wall_s: float | None = None) -> str:
    """The banner's facts as plain Markdown (no MyST directives), for Jupyter, Colab and Kaggle."""
    facts = "; ".join(f"{name}: {value}" for name, value in _run_facts(setup, details, wall_s))
    lines = [f"**How this notebook ran**: {facts}"]
    if setup.profile.name == "smoke":
        lines.append(f"\n**Warning: smoke profile.** {SMOKE_WARNING}")
    return "\n".join(lines)


def announce(setup, details: dict | None = None) -> None:
    """Show how the notebook runs, at its top, where myst-nb is missing (Colab, Kaggle): the
    profile, hardware, seeds and epochs, and on ``smoke`` the warning. In the book nothing is
    shown here: the banner that :func:`glue_banner` stores at the end of the chapter opens the page."""
    if _myst_nb_glue() is None:
        from IPython.display import Markdown
        _display(Markdown(plain_summary(setup, details)))


def glue_banner(setup, chapter: str, details: dict | None = None) -> None:
    """At the end of a chapter, when its wall time is known: glue the :func:`banner` under
    ``"chapter_banner"``, which the chapter's first lines paste with
    ``{glue:md}`` (``:format: myst``). Where myst-nb is missing, show the plain summary with the wall time."""
    wall_s = setup.meta()["wall_s"]
    from IPython.display import Markdown
    _glue = _myst_nb_glue()
    if _glue is None:
        _display(Markdown(plain_summary(setup, details, wall_s)))
        return
    _glue(BANNER_KEY, Markdown(banner(setup, chapter, details, wall_s)), display=False)
