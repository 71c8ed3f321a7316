"""lsnb.book.glue's presentation helpers: whole tables, the chapter banner, launch links from _config.yml."""
import re

import pandas as pd
import pytest

from conftest import ROOT
from lsnb.book import glue as book
from lsnb.chapters import common as chapters
from lsnb.engine import train
from lsnb.book.results import Claim

REPO = {"url": "https://github.com/someone/lsnb", "branch": "dev"}


def test_a_table_shows_every_cell_whole_without_row_numbers():
    long = "a claim that is much longer than the fifty characters at which pandas cuts a cell"
    shown = book.data_table(pd.DataFrame({"claim": [long, "short"], "mean ± sd": ["0.177 ± 0.012", "1 ± 2"]}))
    html = shown._repr_html_()
    assert long in html and long in repr(shown) and "…" not in html + repr(shown)
    assert "<th></th>" not in html and ">0<" not in html  # no index column, no row numbers
    assert 'class="dataframe lsnb-table"' in html
    assert "0.177 ±&#160;0.012" in html  # a line may break before the ±, not after it


def test_a_table_keeps_meaningful_row_labels_and_joins_column_levels():
    frame = pd.DataFrame({"model": ["A", "A", "B"], "alpha": [0.0, 0.1, 0.0], "test_nll": [1.0, 2.0, 3.0]})
    grouped = frame.groupby(["model", "alpha"]).agg(["mean", "std"])
    shown = book.data_table(grouped)
    assert list(shown.frame.columns) == ["model", "alpha", "test nll mean", "test nll std"]
    unnamed = book.data_table(pd.DataFrame({"ece": [0.1, 0.2]}, index=["FCN", "ResNet"]))
    assert list(unnamed.frame.iloc[:, 0]) == ["FCN", "ResNet"]
    pivot = frame.pivot_table(index="model", columns="alpha", values="test_nll")
    assert list(book.data_table(pivot).frame.columns) == ["model", "alpha = 0.0", "alpha = 0.1"]


def test_a_table_with_a_caption():
    html = book.data_table(pd.DataFrame({"x": [1]}), caption="ratio <at alpha>")._repr_html_()
    assert "<caption>ratio &lt;at alpha&gt;</caption>" in html


def test_claims_table_has_the_four_columns_and_the_note():
    claims = [Claim("LS calibrates", "0.024", "0.03 ± 0.01", "agrees", "cpu profile")]
    frame = book.claims_table(claims).frame
    assert list(frame.columns) == ["claim", "paper", "this book", "verdict"]
    assert frame.iloc[0]["verdict"] == "agrees (cpu profile)"


def test_the_repository_is_read_from_config(tmp_path):
    assert book.repository(ROOT / "_config.yml")["url"].startswith("https://github.com/")
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/lsnb/\n  branch: dev\n")
    assert book.repository(config) == REPO
    assert book.repository(tmp_path / "missing.yml") is None  # Colab: lsnb installed from git, no _config.yml


def test_launch_links_are_text_links_to_the_committed_notebook():
    links = book.launch_links("03_calibration", REPO)
    urls = re.findall(r"\]\((\S+?)\)", links)
    assert urls == ["https://colab.research.google.com/github/someone/lsnb/blob/dev/notebooks/03_calibration.ipynb",
                    "https://kaggle.com/kernels/welcome?src=https://github.com/someone/lsnb/blob/dev/notebooks/"
                    "03_calibration.ipynb",
                    "https://github.com/someone/lsnb/blob/dev/notebooks/03_calibration.ipynb"]
    assert "![" not in links  # no badge images: the links work offline and without remote images


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_the_banner_says_how_the_page_was_made(profile, tmp_path):
    setup = chapters.setup(profile, runs_dir=str(tmp_path), results_dir=str(tmp_path))
    text = book.banner(setup, "01_label_smoothing", {"ECE bins": 15}, wall_s=125.4, repo=REPO)
    assert text.startswith(":::{admonition} How this page was made")
    for fact in (f"`{profile}`", setup.hardware, f"{len(setup.seeds)} (0, 1", "ECE bins**: 15", "2 min 05 s",
                 "[Open in Colab](https://colab.research.google.com/github/someone/lsnb/blob/dev/notebooks/"):
        assert fact in text
    assert ("Smoke profile: the numbers on this page mean nothing" in text) == (profile == "smoke")
    assert ("mean nothing" in book.plain_summary(setup)) == (profile == "smoke")


def test_wall_time_in_words():
    assert [book.duration_text(s, exact=True) for s in (4.6, 60, 3725)] == ["5 s", "1 min 00 s", "1 h 02 min"]


def test_glue_banner_glues_markdown_for_the_book_and_shows_a_summary_elsewhere(monkeypatch, tmp_path):
    setup = chapters.setup("smoke", runs_dir=str(tmp_path), results_dir=str(tmp_path))
    glued, shown = [], []
    monkeypatch.setattr(book, "_myst_nb_glue", lambda: lambda name, value, display: glued.append((name, value)))
    monkeypatch.setattr(book, "_display", shown.append)
    book.announce(setup)
    book.glue_banner(setup, "01_label_smoothing")
    assert not shown and [name for name, _ in glued] == [book.BANNER_KEY]
    assert glued[0][1].data.startswith(":::{admonition} How this page was made")

    glued.clear()
    monkeypatch.setattr(book, "_myst_nb_glue", lambda: None)  # Colab / Kaggle: no myst-nb
    book.announce(setup)
    book.glue_banner(setup, "01_label_smoothing")
    assert not glued and len(shown) == 2
    assert all(":::" not in s.data and "smoke" in s.data for s in shown) and "wall time" in shown[1].data


def test_the_banner_gives_the_precision_the_chapters_runs_recorded_not_the_profiles(monkeypatch, tmp_path):
    setup = chapters.setup("cpu", runs_dir=str(tmp_path), results_dir=str(tmp_path))
    assert "fp32" not in setup.profile.device_note and "bf16" not in setup.hardware
    # three runs loaded from the store, trained elsewhere in bf16, and one trained here in fp32
    monkeypatch.setattr(train, "_PRECISIONS", {"a": "bf16", "b": "bf16", "c": "bf16", "d": "fp32"})
    text = book.banner(setup, "01_label_smoothing", wall_s=1.0, repo=REPO)
    assert "**precision**: bf16 for 3 runs, fp32 for 1 run" in text
    assert setup.meta()["precision"] == "bf16 for 3 runs, fp32 for 1 run"
    chapters.setup("cpu", runs_dir=str(tmp_path), results_dir=str(tmp_path))     # a new chapter counts afresh
    assert train.precisions_used() == {} and chapters.precision_text({}) == "no training run"
    assert chapters.precision_text({"fp32": 12}) == "fp32 (all 12 training runs)"


def test_train_counts_the_precision_of_every_run_it_hands_out(tmp_path):
    from lsnb.engine import recipes
    train.forget_precisions()
    cfg = recipes.fcn_config("smoke", epochs=1, hidden=8).with_(n_train=200, n_val=50, n_test=50)
    run = train.train(cfg, runs_dir=tmp_path, progress=False)
    train.train(cfg, runs_dir=tmp_path, progress=False)                 # loaded again: the same run, counted once
    assert train.precisions_used() == {run.metrics["precision"]: 1}
    train.train(cfg.with_(seed=1), runs_dir=tmp_path, progress=False)
    assert train.precisions_used() == {run.metrics["precision"]: 2}
