"""The chapter sources, their paired copies for Colab, the golden notebooks and papermill's checks."""
import re

import jupytext
import nbformat
import papermill
import pytest
import yaml

from conftest import ROOT

CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]*_*.md"))


def test_there_are_chapters():
    assert CHAPTERS and CHAPTERS[0] == "01_label_smoothing"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_paired_ipynb_is_in_sync_and_stripped(chapter):
    source = jupytext.read(ROOT / "notebooks" / f"{chapter}.md")
    paired = nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    strip = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]
    assert strip(source) == strip(paired), f"run `make pair`: notebooks/{chapter}.ipynb is out of date"
    assert all(not c.get("outputs") for c in paired.cells if c.cell_type == "code")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_parameters_cell(chapter):
    nb = jupytext.read(ROOT / "notebooks" / f"{chapter}.md")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged `parameters` (papermill)"
    names = set(re.findall(r"^(\w+)\s*=", cells[0].source, flags=re.M))
    assert {"profile", "alpha", "dataset", "seed", "runs_dir"} <= names


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_launch_links_point_at_the_committed_notebook(chapter):
    """The banner's Colab/Kaggle links are made by lsnb.book.glue from _config.yml for this chapter's own notebook."""
    from lsnb.book import glue as book
    repo = book.repository(ROOT / "_config.yml")
    links = book.launch_links(chapter, repo)
    urls = re.findall(r"\]\((\S+?)\)", links)
    assert len(urls) == 3 and all(url.endswith(f"/notebooks/{chapter}.ipynb") for url in urls)
    assert urls[0].startswith("https://colab.research.google.com/github/")
    assert all(repo["url"].split("github.com/")[1] + "/blob/" + repo["branch"] in url for url in urls)
    source = (ROOT / "notebooks" / f"{chapter}.md").read_text()
    assert f'glue_banner(setup, "{chapter}"' in source, "the chapter must glue its own banner"
    assert source.index("{glue:md} chapter_banner") < source.index("{code-cell}"), "the banner opens the page"


URL = re.compile(r"https?://[^\s\"'<>)\]]+")


@pytest.mark.parametrize("suffix", [".md", ".ipynb"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_notebook_names_no_repository_but_the_one_in_config(chapter, suffix):
    """_config.yml's repository.url is the one place the repository is written down: launch links are made
    from it (lsnb.book.glue.launch_links), so no notebook carries a Colab/Kaggle link, and the one URL a notebook
    must spell out, its `%pip install` line for Colab, names that repository."""
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    path = ROOT / "notebooks" / f"{chapter}{suffix}"
    nb = jupytext.read(path) if suffix == ".md" else nbformat.read(path, as_version=4)
    urls = URL.findall("\n".join(c.source for c in nb.cells))
    assert not [u for u in urls if "colab.research.google.com" in u or "kaggle.com" in u], \
        "launch links come from lsnb.book.glue.launch_links (the banner), not from the notebook"
    github = [u for u in urls if "github.com" in u]
    assert github, "the %pip install line names the repository"
    assert all(u.rstrip("/") == repo or u.startswith(repo + "/") for u in github), \
        f"{chapter}{suffix} names {github}, but _config.yml's repository is {repo}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_training_loop_or_model_in_a_notebook(chapter):
    code = "\n".join(c.source for c in jupytext.read(ROOT / "notebooks" / f"{chapter}.md").cells
                     if c.cell_type == "code")
    for forbidden in (".backward(", "optimizer.step", "nn.Module", "class "):
        assert forbidden not in code, f"{chapter} defines {forbidden!r}: put it in lsnb"


MAX_CELL_LINES = 15


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_chapter_defines_no_function_and_keeps_its_cells_short(chapter):
    """A chapter is prose and calls of lsnb: a helper it needs belongs in lsnb (with a docstring and a test),
    and a code cell is at most MAX_CELL_LINES lines of source (its MyST metadata, like `:tags:`, not counted)."""
    cells = [c for c in jupytext.read(ROOT / "notebooks" / f"{chapter}.md").cells if c.cell_type == "code"]
    defs = [line.strip() for c in cells for line in c.source.splitlines() if re.match(r"\s*(async\s+)?def\s", line)]
    assert not defs, f"{chapter} defines {defs}: move them to the lsnb module whose job they are"
    long = {c.source.splitlines()[0]: len(c.source.splitlines()) for c in cells
            if len(c.source.splitlines()) > MAX_CELL_LINES}
    assert not long, f"{chapter}: code cells longer than {MAX_CELL_LINES} lines (first line: length): {long}"


def test_every_chapter_is_in_the_toc_and_has_a_golden_notebook():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c.get("file") for part in toc["parts"] for c in part["chapters"]]  # the GPU edition part is a glob
    for chapter in CHAPTERS:
        assert f"book/chapters/{chapter}" in files
        assert (ROOT / "tests" / "golden" / f"{chapter}.ipynb").exists(), "run `make golden`"
        assert (ROOT / "tests" / "golden" / "results" / f"{chapter}.json").exists(), "run `make golden`"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_golden_notebook_is_the_current_source_on_smoke(chapter):
    golden = nbformat.read(ROOT / "tests" / "golden" / f"{chapter}.ipynb", as_version=4)
    source = jupytext.read(ROOT / "notebooks" / f"{chapter}.md")
    ours = [c.source.strip() for c in golden.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert ours == [c.source.strip() for c in source.cells], "run `make golden`: the golden notebook is stale"
    injected = [c.source for c in golden.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'profile = "smoke"' in injected[0]


COMMON_PARAMETERS = {"profile", "dataset", "alpha", "seed", "n_seeds", "epochs", "runs_dir", "results_dir"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_takes_the_common_parameters(chapter):
    """papermill only logs a parameter a notebook does not define: every chapter takes the same ones."""
    nb = jupytext.read(ROOT / "notebooks" / f"{chapter}.md")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert COMMON_PARAMETERS <= set(re.findall(r"^(\w+)\s*=", cell.source, flags=re.M))


def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("")
    return path


# (parameters, exception, start of its message): bad values of the common parameters, each refused by
# the chapter's first cells, before any data is loaded or any run folder is made.
BAD_PARAMETERS = {
    "alpha": (lambda tmp: {"alpha": 1.5}, "ValueError", "alpha=1.5"),
    "epochs": (lambda tmp: {"epochs": 0}, "ValueError", "epochs=0 is not allowed"),
    "results_dir": (lambda tmp: {"results_dir": str(a_file(tmp) / "results")}, "PermissionError", "results_dir="),
    "dataset": (lambda tmp: {"dataset": "en_de"}, "ValueError", "dataset='en_de' is a translation corpus"),
    "unknown name": (lambda tmp: {"n_seed": 1}, "ValueError", "n_seed is not a parameter of this chapter: did "
                                                                 "you mean n_seeds?"),
}


@pytest.mark.parametrize("bad", BAD_PARAMETERS)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_papermill_rejects_bad_parameters_before_any_work(chapter, bad, tmp_path):
    params, ename, message = BAD_PARAMETERS[bad]
    if bad == "dataset" and chapter.startswith("03b"):
        params, message = (lambda tmp: {"dataset": "mnist"}), "dataset='mnist' is an image dataset, but the Transformer translates"
    nb = jupytext.read(ROOT / "notebooks" / f"{chapter}.md")
    src = tmp_path / "in.ipynb"
    nbformat.write(nb, src)
    runs = tmp_path / "runs"
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), kernel_name="python3",
                                   parameters={"profile": "smoke", "runs_dir": str(runs), **params(tmp_path)},
                                   progress_bar=False, cwd=str(ROOT))
    assert err.value.ename == ename and err.value.evalue.startswith(message), err.value.evalue
    assert not runs.exists(), "no training may start before the parameters are validated"
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    executed = [c for c in out.cells if c.cell_type == "code" and c.get("execution_count")]
    # the parameters cell, papermill's, the imports and the setup cell: nothing after the setup runs
    assert len(executed) <= 4, "the error must come from the first cells"
