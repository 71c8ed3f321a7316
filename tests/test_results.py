import json

import pytest

from lsnb.build import editions
from lsnb.book import results
from lsnb.book.results import Claim
from lsnb.methods.stats import NOT_TESTABLE, RULE
from lsnb.build import scorecard

META = {"profile": "cpu", "hardware": "CPU AMD EPYC, 2 cores, torch 2.14.1, fp32", "seeds": 3, "epochs": None,
        "wall_s": 204.0}


def test_scorecard_lists_every_claim_of_every_chapter(tmp_path):
    results.write_chapter_results("02_b", "2. B", "profile='cpu'", [Claim("c2", "p2", "o2", "differs", "why")], {},
                                  tmp_path)
    results.write_chapter_results("01_a", "1. A", "profile='smoke'", [Claim("c|1", "p1", "o1", "agrees")],
                                  {"x": [1, 2]}, tmp_path, meta={**META, "profile": "smoke"})
    text = scorecard.render_scorecard(tmp_path)
    assert text.index("## 1. A") < text.index("## 2. B")
    assert "| claim | paper | this build |" in text and "GPU edition" not in text
    assert "| c\\|1 | p1 | **agrees** — o1 |" in text
    assert "| c2 | p2 | **differs** — o2 (why) |" in text
    assert "| run | profile='smoke' |" in text and "| profile | smoke |" in text and "| wall time | 3.4 min |" in text
    assert "| profile | not recorded |" in text  # chapter B wrote no meta
    assert RULE in text  # the verdict rule is stated


def test_claim_verdicts_are_checked():
    with pytest.raises(ValueError, match="verdict="):
        Claim("c", "p", "o", "roughly")
    with pytest.raises(ValueError, match="verdict="):  # the book no longer has this verdict
        Claim("c", "p", "o", "not comparable")
    assert Claim("c", "p", "o", NOT_TESTABLE, "not testable: the premise fails (79 %)").verdict == "not testable"


CAVEAT = "cpu profile: fashion_mnist, not the paper's data and schedule"


def test_scorecard_tallies_the_verdicts_first(tmp_path):
    results.write_chapter_results("01_a", "1. A", "s", [Claim("a1", "p", "o", "agrees"),
                                                        Claim("a2", "p", "o", "within noise"),
                                                        Claim("a3", "p", "o", "agrees")], {}, tmp_path, meta=META)
    results.write_chapter_results("02_b", "2. B", "s", [Claim("b1", "p", "o", NOT_TESTABLE, "premise fails"),
                                                        Claim("b2", "p", "o", "agrees")], {}, tmp_path, meta=META)
    text = scorecard.render_scorecard(tmp_path)
    tally = "| verdicts | agrees | differs | within noise | not testable |\n|---|---|---|---|---|\n| this build | 3 | 0 | 1 | 1 |"
    assert tally in text
    assert text.index(RULE) < text.index(tally) < text.index("## 1. A")


def test_scorecard_says_a_shared_caveat_once_per_chapter(tmp_path):
    results.write_chapter_results("01_a", "1. A", "s", [
        Claim("a1", "p", "o1", "agrees", CAVEAT),
        Claim("a2", "p", "o2", NOT_TESTABLE, f"{CAVEAT}; not testable: over-confident fails (ECE 0.01)"),
        Claim("a3", "p", "o3", "within noise", CAVEAT)], {}, tmp_path, meta=META)
    results.write_chapter_results("02_b", "2. B", "s", [Claim("b1", "p", "o", "agrees", "one"),
                                                        Claim("b2", "p", "o", "agrees", "other")], {}, tmp_path)
    results.write_chapter_results("03_c", "3. C", "s", [Claim("c1", "p", "o", "differs", "its own reason")], {},
                                  tmp_path)
    text = scorecard.render_scorecard(tmp_path)
    a = text[text.index("## 1. A"):text.index("## 2. B")]
    assert a.count(CAVEAT) == 1 and a.index(f"*This build*: {CAVEAT}.") < a.index("| profile |")
    assert "| a1 | p | **agrees** — o1 |" in a and "| a3 | p | **within noise** — o3 |" in a
    assert "| a2 | p | **not testable** — o2 (not testable: over-confident fails (ECE 0.01)) |" in a  # its own part
    b = text[text.index("## 2. B"):text.index("## 3. C")]  # notes that differ stay in their rows
    assert "*This build*" not in b and "**agrees** — o (one) |" in b and "**agrees** — o (other) |" in b
    c = text[text.index("## 3. C"):]  # a chapter's only claim keeps its note: it is the claim's own
    assert "*This build*" not in c and "| c1 | p | **differs** — o (its own reason) |" in c


def test_cli(tmp_path, capsys):
    assert scorecard.main([str(tmp_path), str(tmp_path / "out.md")]) == 1
    assert "execute the chapters first" in capsys.readouterr().err
    results.write_chapter_results("01_a", "1. A", "s", [Claim("c", "p", "o", "agrees")], {}, tmp_path)
    assert scorecard.main([str(tmp_path), str(tmp_path / "out.md")]) == 0
    assert "| c | p | **agrees** — o |" in (tmp_path / "out.md").read_text()
    assert scorecard.main([str(tmp_path), str(tmp_path / "out.md"), "--edition", str(tmp_path / "none")]) == 0
    assert "| c | p | **agrees** — o |" in (tmp_path / "out.md").read_text()
    (tmp_path / "broken").mkdir()  # an edition folder without its manifest fails loudly
    assert scorecard.main([str(tmp_path), str(tmp_path / "out.md"), "--edition", str(tmp_path / "broken")]) == 1
    assert "holds no manifest.json" in capsys.readouterr().err
    for usage_error in ([], [str(tmp_path)], [str(tmp_path), "x.md", "--edition"], [str(tmp_path), "x.md", "y"]):
        with pytest.raises(SystemExit) as exit_:
            scorecard.main(usage_error)
        assert exit_.value.code == 2 and "usage: python -m lsnb.build.scorecard" in capsys.readouterr().err


# ----------------------------------------------------------------------------- paper | GPU edition | this build

GPU_META = {"profile": "gpu", "hardware": "GPU NVIDIA H200, CUDA 13.0, torch 2.14.1, bf16", "seeds": 3,
            "epochs": None, "wall_s": 290.0}
GPU_ENV = {"gpu": "NVIDIA H200", "gpu_count": 1, "torch": "2.14.1", "cuda": "13.0", "cudnn": 91000,
           "python": "3.11.7", "cpu": "test CPU", "cpu_cores": 16, "platform": "Linux"}


def hand_made_edition(folder, chapters: dict, *, profile="gpu", commit=None) -> dict:
    """An edition written by the real :func:`lsnb.build.editions.write_edition` from hand-made executed chapters:
    ``chapters`` is ``{name: (title, [Claim], meta)}``; the manifest's commit is set to ``commit`` afterwards."""
    import nbformat

    executed = folder / "executed"
    for name, (title, claims, meta) in chapters.items():
        results.write_chapter_results(name, title, f"profile={profile!r}", claims, {}, executed / "results", meta=meta)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}")])
        nb.metadata["papermill"] = {"parameters": {"profile": profile}, "duration": meta.get("wall_s", 1.0) + 5}
        nbformat.write(nb, executed / f"{name}.ipynb")
    path = editions.write_edition(executed, folder / "gpu", names=list(chapters), env=GPU_ENV)
    manifest = json.loads(path.read_text())
    if commit is not None:  # each chapter carries its own provenance, as the top does
        for record in [manifest, *manifest["chapters"]]:
            record["commit"], record["dirty"] = commit, []
        path.write_text(json.dumps(manifest))
    return manifest


def test_scorecard_sets_paper_gpu_edition_and_this_build_side_by_side(tmp_path):
    build = tmp_path / "build"
    results.write_chapter_results("01_a", "1. A", "profile='cpu'", [
        Claim("shared claim", "paper says 1", "cpu 0.9", "within noise", "cpu: other data"),
        Claim("build only", "paper says 2", "cpu 2", "agrees")], {}, build, meta=META)
    hand_made_edition(tmp_path, {"01_a": ("1. A", [Claim("shared claim", "paper says 1", "gpu 1.1", "agrees"),
                                                   Claim("edition only", "paper says 3", "gpu 3", "differs")],
                                          GPU_META),
                                 "02_b": ("2. B", [Claim("b claim", "paper b", "gpu b", "agrees")], GPU_META)})
    text = scorecard.render_scorecard(build, tmp_path / "gpu")
    assert RULE in text
    assert "| claim | paper | GPU edition | this build |" in text
    assert "| verdicts | agrees | differs | within noise | not testable |" in text
    assert "| this build | 1 | 0 | 1 | 0 |\n| GPU edition | 2 | 1 | 0 | 0 |" in text  # each side's tally
    assert ("| shared claim | paper says 1 | **agrees** — gpu 1.1 | **within noise** — cpu 0.9 (cpu: other data) |"
            in text)
    assert "| build only | paper says 2 | — | **agrees** — cpu 2 |" in text
    assert "| edition only | paper says 3 | **differs** — gpu 3 | — |" in text
    assert text.index("build only") < text.index("edition only")  # this build's order, then the edition's own
    assert "| b claim | paper b | **agrees** — gpu b | — |" in text  # a chapter only the edition has
    # each side's settings, from its results' "meta"
    assert "| | GPU edition | this build |" in text
    assert "| profile | gpu | cpu |" in text and "| seeds | 3 | 3 |" in text
    assert f"| hardware | {GPU_META['hardware']} | {META['hardware']} |" in text
    assert "| wall time | 4.8 min | 3.4 min |" in text
    assert "| epochs | each network's profile schedule | each network's profile schedule |" in text
    # where the edition came from
    assert ("2 chapters executed on the gpu profile" in text and "the latest were added by make book PROFILE=gpu on "
            "NVIDIA H200 with torch 2.14.1 and CUDA 13.0" in text)


def test_scorecard_says_when_there_is_no_gpu_edition(tmp_path):
    results.write_chapter_results("01_a", "1. A", "s", [Claim("c", "p", "o", "agrees")], {}, tmp_path, meta=META)
    text = scorecard.render_scorecard(tmp_path, tmp_path / "no-edition")
    assert text.count("none has been made yet") == 1 and "gpu_00_edition" in text  # one line, with its page
    assert "| claim | paper | this build |" in text and "| c | p | **agrees** — o |" in text
    assert "| | this build |" in text and "GPU edition |" not in text  # no column of dashes, nor its tally row
    assert "| — |" not in text


def test_scorecard_warns_when_the_edition_is_from_other_code(tmp_path):
    results.write_chapter_results("01_a", "1. A", "s", [Claim("c", "p", "o", "agrees")], {}, tmp_path / "b", meta=META)
    hand_made_edition(tmp_path, {"01_a": ("1. A", [Claim("c", "p", "g", "agrees")], GPU_META)}, commit="f" * 40)
    text = scorecard.render_scorecard(tmp_path / "b", tmp_path / "gpu")
    assert "```{warning}\nGPU edition: Made from commit ffffffffff, which this checkout does not have" in text
    assert "1 of 1 chapters were made from other code than this build's (01_a)" in text
