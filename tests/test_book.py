"""The book builds strictly (-W) from the golden (smoke-profile) notebooks, and a broken one fails."""
import html as html_module
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def make_book(dest: Path, edition: Path = ROOT / "book" / "editions" / "gpu") -> Path:
    """A copy of the book's sources with the golden notebooks where `make book` puts executed chapters,
    and the GPU edition ``edition`` (the committed one; there may be none) staged as `make book` stages it."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "book", dest / "book", ignore=shutil.ignore_patterns("chapters", "__pycache__"))
    shutil.copytree(ROOT / "lsnb", dest / "lsnb", ignore=shutil.ignore_patterns("__pycache__"))  # literalinclude
    chapters = dest / "book" / "chapters"
    chapters.mkdir()
    for nb in (ROOT / "tests" / "golden").glob("*.ipynb"):
        shutil.copy(nb, chapters / nb.name)
    subprocess.run([sys.executable, "-m", "lsnb.build.editions", "stage", str(edition), str(chapters)], check=True)
    subprocess.run([sys.executable, "-m", "lsnb.build.scorecard", str(ROOT / "tests" / "golden" / "results"),
                    str(chapters / "scorecard_table.md"), "--edition", str(edition)], check=True)
    return dest


def build(dest: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(JUPYTER_BOOK), "build", str(dest), "-W", "--keep-going", "-q"],
                          capture_output=True, text=True, timeout=600)


def test_book_builds_strictly(tmp_path):
    book = make_book(tmp_path)
    result = build(book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = book / "_build" / "html"
    chapter = (html / "book" / "chapters" / "01_label_smoothing.html").read_text()
    text = html_module.unescape(re.sub(r"<[^>]+>", "", chapter))
    assert "Label smoothing" in text and "def label_smoothing_loss(" in text  # the literalinclude
    assert "colab.research.google.com/github/lsnb-book/lsnb/blob/main/notebooks/01_label_smoothing.ipynb" in chapter
    assert "How this page was made" in text and "Smoke profile: the numbers on this page mean nothing" in text
    assert 'profile = "cpu"' not in text, "the defaults cell is the notebook's, not the book's"
    for page in (html / "book" / "chapters").glob("*.html"):
        source = page.read_text()
        assert "caption-number" not in source, f"{page.name}: figures carry the paper's names, not book numbers"
        assert not re.findall(r'<(?:script|img|link)[^>]+(?:src|href)="https?://', source), \
            f"{page.name} loads something from the internet"
        if 'class="math' in source:  # (the GPU edition's overview page has none)
            assert "_static/mathjax/tex-chtml.js" in source  # MathJax served with the book: maths typeset offline
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    scorecard = (html / "book" / "scorecard.html").read_text()
    assert "1. Label smoothing" in scorecard and "CIFAR-10: 86.8" in scorecard
    assert "not testable" in scorecard and "testable where" in scorecard  # the premises, in every build


def break_glue_key(book: Path):
    nb_path = book / "book" / "chapters" / "01_label_smoothing.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{glue:text}`acc_hard`" in cell.source:
            cell.source = cell.source.replace("{glue:text}`acc_hard`", "{glue:text}`no_such_key`")
            break
    else:
        pytest.fail("the chapter no longer glues acc_hard; update this test")
    nbformat.write(nb, nb_path)


def break_toc(book: Path):
    toc = book / "_toc.yml"
    toc.write_text(toc.read_text().replace("book/chapters/01_label_smoothing", "book/chapters/01_missing"))


def break_reference(book: Path):
    intro = book / "book" / "intro.md"
    intro.write_text(intro.read_text() + "\nSee {numref}`fig-nowhere` and {cite}`nobody2020`.\n")


@pytest.mark.parametrize("breakage", [break_glue_key, break_toc, break_reference])
def test_broken_book_fails_the_strict_build(tmp_path, breakage):
    book = make_book(tmp_path)
    breakage(book)
    assert build(book).returncode != 0
