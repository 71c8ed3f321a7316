"""Editions (lsnb.build.editions): chapters executed with one line each, kept with a manifest, rendered beside a build.

The last test makes a smoke-sized edition from the golden notebooks (executed chapters on the
`smoke` profile) with the real writer, stages it and builds the book strictly, so that a broken
edition, manifest, edition page or scorecard column fails CI.
"""
import html as html_module
import io
import json
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from lsnb.build import editions, execute, staging
from lsnb.build import manifest as manifests
from lsnb.book import results
from lsnb.book.results import Claim
from test_results import GPU_ENV, GPU_META, hand_made_edition

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}

```{{code-cell}} ipython3
:tags: [parameters]

profile = "cpu"
results_dir = None
```

```{{code-cell}} ipython3
print("the cell output of {name} on", profile)
{body}
```
"""


def tiny_chapters(root, bodies: dict):
    (root / "notebooks").mkdir(parents=True)
    for i, (name, body) in enumerate(bodies.items()):
        (root / "notebooks" / f"{name}.md").write_text(CHAPTER.format(title=f"{i + 1}. {name}", name=name, body=body))


def test_execute_prints_one_line_per_chapter_and_keeps_papermills_output_in_a_log(tmp_path):
    """What `make book` prints: a line per chapter (name, profile, time, OK/FAILED), the log's tail on failure."""
    write = ("from lsnb.book import results\n"
             "results.write_chapter_results('01_ok', '1. ok', 's', [results.Claim('c', 'p', 'o', 'agrees')], {}, "
             "results_dir, meta={'profile': profile})")
    tiny_chapters(tmp_path, {"01_ok": write, "02_fails": "raise RuntimeError('boom in chapter two')",
                             "03_never": "pass"})
    out = io.StringIO()
    with pytest.raises(execute.EditionError, match="chapter 02_fails failed on profile smoke"):
        execute.execute_chapters(execute.chapter_names(tmp_path), profile="smoke", out_dir=tmp_path / "build",
                                  root=tmp_path, stream=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Executing 3 chapters on profile smoke; papermill's output: build/logs/"
    assert re.fullmatch(r"  01_ok     smoke  +[\d.]+ (s|min)  OK", lines[1])
    assert re.fullmatch(r"  02_fails  smoke  +[\d.]+ (s|min)  FAILED", lines[2])
    assert "--- the last 40 lines of build/logs/02_fails.log:" in lines[3]
    assert "boom in chapter two" in out.getvalue() and "03_never" not in out.getvalue()  # the first failure stops
    assert "the cell output of 01_ok on smoke" in (tmp_path / "build" / "logs" / "01_ok.log").read_text()
    assert json.loads((tmp_path / "build" / "results" / "01_ok.json").read_text())["meta"] == {"profile": "smoke"}
    nb = nbformat.read(tmp_path / "build" / "01_ok.ipynb", as_version=4)
    assert editions.notebook_parameters(nb) == {"profile": "smoke", "results_dir": "build/results"}  # relative
    assert editions.notebook_duration(nb) > 0


def git_repo(root):
    """A git repository with one commit of a stand-in for the code and the docs; returns a commit function."""
    def commit(files: dict, message="c"):
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m",
                        message], check=True)
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return commit


def executed_chapter(folder, name, *, profile="gpu", duration=61.5, meta=None, outputs=()):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}"),
                                         nbformat.v4.new_code_cell("x", outputs=list(outputs))])
    nb.metadata["papermill"] = {"parameters": {"profile": profile}, "duration": duration,
                                "input_path": "/tmp/abc/src.ipynb", "output_path": f"/home/me/book/{name}.ipynb"}
    nb.metadata["widgets"] = {"state": "x" * 1000}
    (folder / "results").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    results.write_chapter_results(name, name.title(), "s", [Claim("c", "p", "o", "agrees")], {}, folder / "results",
                                  meta=meta if meta is not None else {**GPU_META, "profile": profile})


def test_manifest_records_machine_code_date_and_minutes_per_chapter(tmp_path, monkeypatch):
    monkeypatch.setenv("LSNB_CIFAR10", "imagefolder:data/cifar10-jpeg")
    monkeypatch.setenv("LSNB_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "en_de").mkdir(parents=True)
    (tmp_path / "data" / "en_de" / "meta.json").write_text('{"digest": "506b62fdf36a5772"}')
    commit = git_repo(tmp_path)
    head = commit({"lsnb/x.py": "1", "README.md": "r"})
    (tmp_path / "lsnb" / "x.py").write_text("2")  # uncommitted change to the code
    for name, duration in [("01_a", 61.5), ("02_b", 200.0)]:
        executed_chapter(tmp_path / "build", name, duration=duration)
    path = editions.write_edition(tmp_path / "build", tmp_path / "book" / "editions" / "gpu", names=["01_a", "02_b"],
                                  root=tmp_path, env=GPU_ENV)
    m = json.loads(path.read_text())
    assert (m["edition"], m["profile"]) == ("gpu", "gpu") and m["data"] == {"en_de": "506b62fdf36a5772"}
    assert m["command"] == "make book PROFILE=gpu LSNB_CIFAR10=imagefolder:data/cifar10-jpeg"
    assert (m["gpu"], m["torch"], m["cuda"]) == ("NVIDIA H200", "2.14.1", "13.0")
    assert m["commit"] == head and m["dirty"] == ["lsnb/x.py"]
    assert m["hardware"] == GPU_META["hardware"]  # as the chapters' results saw it
    assert [(c["chapter"], c["wall_s"], c["meta"]["seeds"]) for c in m["chapters"]] == [("01_a", 61.5, 3),
                                                                                       ("02_b", 200.0, 3)]
    assert m["total_wall_s"] == 261.5 and m["made"].endswith("+00:00")
    assert set(m["files"]) == {"01_a.ipynb", "02_b.ipynb", "results/01_a.json", "results/02_b.json"}
    assert m["total_bytes"] == sum(f["bytes"] for f in m["files"].values())
    assert manifests.read_edition(path.parent) == m
    nb = nbformat.read(path.parent / "01_a.ipynb", as_version=4)
    assert "widgets" not in nb.metadata and nb.metadata["papermill"]["output_path"] == "01_a.ipynb"
    assert manifests.environment()["python"]  # the real one answers on any machine (gpu None without CUDA)


def test_an_edition_is_one_profile_and_every_chapter_or_nothing(tmp_path):
    executed_chapter(tmp_path / "build", "01_a")
    executed_chapter(tmp_path / "build", "02_b", profile="cpu")
    dest = tmp_path / "gpu"
    with pytest.raises(execute.EditionError, match="executed on profile 'cpu'.*not 'gpu'"):
        editions.write_edition(tmp_path / "build", dest, names=["01_a", "02_b"], env=GPU_ENV)
    with pytest.raises(execute.EditionError, match="03_c.ipynb is missing"):
        editions.write_edition(tmp_path / "build", dest, names=["01_a", "03_c"], env=GPU_ENV)
    assert not dest.exists() and not list(tmp_path.glob(".gpu*"))  # nothing half-written
    editions.write_edition(tmp_path / "build", dest, names=["01_a"], env=GPU_ENV)
    with pytest.raises(execute.EditionError):
        editions.write_edition(tmp_path / "build", dest, names=["01_a", "02_b"], env=GPU_ENV)
    assert [c["chapter"] for c in manifests.read_edition(dest)["chapters"]] == ["01_a"]  # the old one stays


def test_slim_keeps_figures_and_glue_and_drops_what_is_large_or_hidden():
    png = {"image/png": "iVBOR" * 100, "image/svg+xml": "<svg/>"}
    glue = {"application/papermill.record/text/plain": "1"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="progress bar"),
        nbformat.v4.new_output("stream", name="stdout", text="kept"),
        nbformat.v4.new_output("display_data", data=png),
        nbformat.v4.new_output("display_data", data=glue, metadata={"scrapbook": {"name": "k"}}),
        nbformat.v4.new_output("display_data", data={"text/html": "x" * (editions.MAX_OUTPUT_BYTES + 1)})])])
    dropped = editions.slim(nb)
    outs = nb.cells[0].outputs
    assert [o.get("name") for o in outs if o.output_type == "stream"] == ["stdout"]
    assert list(outs[1].data) == ["image/png"] and outs[2].data == glue
    assert "not kept in the edition" in outs[3].data["text/plain"] and dropped == ["an output of 2.0 MB"]


def test_a_broken_edition_fails_loudly(tmp_path):
    assert manifests.read_edition(tmp_path / "none") is None
    hand_made_edition(tmp_path, {"01_a": ("1. A", [Claim("c", "p", "g", "agrees")], GPU_META)})
    edition = tmp_path / "gpu"
    assert manifests.read_edition(edition)["profile"] == "gpu"
    (edition / "results" / "01_a.json").write_text("{}")
    with pytest.raises(execute.EditionError, match="01_a.json changed after the edition was written"):
        manifests.read_edition(edition)
    (edition / "results" / "01_a.json").unlink()
    with pytest.raises(execute.EditionError, match="01_a.json is missing"):
        manifests.read_edition(edition)
    (edition / "manifest.json").unlink()
    with pytest.raises(execute.EditionError, match="holds no manifest.json"):
        staging.stage_edition(edition, tmp_path / "chapters")


def test_an_edition_from_other_code_says_so(tmp_path):
    commit = git_repo(tmp_path)
    made = commit({"lsnb/x.py": "1", "notebooks/01.md": "n", "README.md": "r"})
    status = lambda **m: manifests.edition_status({"commit": made, "dirty": [], **m}, tmp_path)
    assert status() == {"stale": False, "message": f"Made from this build's commit, {made[:10]}."}
    assert status(dirty=["lsnb/x.py"])["stale"]
    commit({"README.md": "r2", "book/editions/gpu/manifest.json": "{}"})  # the edition itself, docs: same code
    assert not status()["stale"] and "runs the same code" in status()["message"]
    head = commit({"lsnb/x.py": "2", "notebooks/01.md": "n2"})
    s = status()
    assert s["stale"] and s["message"].startswith(f"Made from an older commit, {made[:10]}, than this build "
                                                  f"({head[:10]}): 2 files the chapters execute changed since "
                                                  f"(lsnb/x.py, notebooks/01.md)")
    assert "which this checkout does not have" in status(commit="0" * 40)["message"]
    assert "cannot be checked" in manifests.edition_status({"commit": made}, tmp_path / "not-a-repo")["message"]


def test_staging_without_an_edition_writes_the_page_that_says_so(tmp_path):
    (tmp_path / "gpu_04_stale.ipynb").write_text("{}")  # a page of an earlier build's edition goes
    pages = staging.stage_edition(tmp_path / "no-edition", tmp_path)
    assert pages == [tmp_path / "gpu_00_edition.md"] and not (tmp_path / "gpu_04_stale.ipynb").exists()
    text = pages[0].read_text()
    assert text.startswith("# GPU edition\n") and "No GPU edition has been produced yet" in text
    assert "make edition" in text and "make gpu-check" in text


def test_staged_chapters_get_their_own_labels_title_and_provenance(tmp_path):
    md = nbformat.v4.new_markdown_cell
    ch1 = nbformat.v4.new_notebook(cells=[
        md("(ch-one)=\n# 1. One\n\n```{math}\n:label: eq-ls\nx\n```\nSee {numref}`fig-a`, {eq}`eq-ls`, "
           "{ref}`the figure <fig-a>` and {ref}`intro-label`."),
        nbformat.v4.new_code_cell("plot()", metadata={"mystnb": {"figure": {"name": "fig-a", "caption": "c"}}})])
    ch2 = nbformat.v4.new_notebook(cells=[md("# 2. Two\nAs in {eq}`eq-ls` and {ref}`ch-one`.")])
    edition = tmp_path / "gpu"
    hand_made_edition(tmp_path, {"01_one": ("1. One", [], GPU_META), "02_two": ("2. Two", [], GPU_META)})
    manifest = json.loads((edition / "manifest.json").read_text())
    for name, nb in [("01_one", ch1), ("02_two", ch2)]:  # the chapters' text, as if executed (hashes follow)
        nb.metadata["papermill"] = {"parameters": {"profile": "gpu"}}
        nbformat.write(nb, edition / f"{name}.ipynb")
        manifest["files"][f"{name}.ipynb"]["sha256"] = manifests.sha256(edition / f"{name}.ipynb")
    (edition / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "chapters"
    out.mkdir()
    (out / "01_one.ipynb").write_text("{}")  # this build's own chapter
    pages = staging.stage_edition(edition, out)
    assert [p.name for p in pages] == ["gpu_00_edition.md", "gpu_01_one.ipynb", "gpu_02_two.ipynb"]
    one = nbformat.read(out / "gpu_01_one.ipynb", as_version=4)
    text = one.cells[0].source
    assert text.startswith("(gpu-ch-one)=\n# 1. One (GPU edition)\n\n```{admonition} GPU edition\n:class: ")
    assert "on NVIDIA H200" in text and "{doc}`this build's chapter <01_one>` was" in text
    assert ":label: gpu-eq-ls" in text and "{numref}`gpu-fig-a`, {eq}`gpu-eq-ls`" in text
    assert "{ref}`the figure <gpu-fig-a>`" in text and "{ref}`intro-label`" in text  # not the edition's: kept
    assert one.cells[1].metadata["mystnb"]["figure"]["name"] == "gpu-fig-a"
    two = nbformat.read(out / "gpu_02_two.ipynb", as_version=4)
    assert "{eq}`gpu-eq-ls` and {ref}`gpu-ch-one`" in two.cells[0].source  # across the edition's chapters
    assert "this build's chapter was" in two.cells[0].source  # no {doc} to a chapter this build lacks
    overview = (out / "gpu_00_edition.md").read_text()
    assert "{doc}`gpu_01_one`" in overview and "Not yet in the edition: 01_label_smoothing" in overview


def test_the_toc_renders_the_edition_part_with_or_without_an_edition():
    toc = (ROOT / "_toc.yml").read_text()
    assert f"- glob: book/chapters/{staging.PREFIX}*" in toc and staging.OVERVIEW.startswith(staging.PREFIX)
    makefile = (ROOT / "Makefile").read_text()
    assert "-m lsnb.build.editions execute" in makefile and "-m lsnb.build.editions stage" in makefile
    assert "-m lsnb.build.editions write" in makefile and "--edition $(EDITION)" in makefile


def test_a_smoke_edition_is_written_staged_and_built(tmp_path):
    """The golden notebooks are chapters executed on `smoke`: kept as an edition by the real writer, staged and
    built strictly beside the same chapters, with the scorecard's three columns."""
    from test_book import build, make_book
    executed = tmp_path / "executed"
    (executed / "results").mkdir(parents=True)
    for name in execute.chapter_names():
        (executed / f"{name}.ipynb").write_bytes((ROOT / "tests" / "golden" / f"{name}.ipynb").read_bytes())
        (executed / "results" / f"{name}.json").write_bytes(
            (ROOT / "tests" / "golden" / "results" / f"{name}.json").read_bytes())
    subprocess.run([sys.executable, "-m", "lsnb.build.editions", "write", str(tmp_path / "gpu"), "--chapters", str(executed)],
                   check=True)
    manifest = json.loads((tmp_path / "gpu" / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and len(manifest["chapters"]) == len(execute.chapter_names())
    assert manifest["total_bytes"] < 5_000_000
    book = tmp_path / "book"
    book.mkdir()
    make_book(book, edition=tmp_path / "gpu")
    result = build(book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = book / "_build" / "html" / "book"

    def text(page):
        return html_module.unescape(re.sub(r"<[^>]+>", "", (html / page).read_text()))

    overview = text("chapters/gpu_00_edition.html")
    assert f"{len(execute.chapter_names())} chapters executed on the smoke profile" in overview
    assert "Every chapter of the book is in the edition" in overview
    for name in execute.chapter_names():
        page = text(f"chapters/gpu_{name}.html")
        assert "(GPU edition)" in page and "It was not executed by this build" in page
    scorecard = text("scorecard.html")
    assert "GPU edition" in scorecard and "this build" in scorecard and "Welch" in scorecard


def test_an_edition_write_killed_between_its_renames_is_named_with_the_command_that_recovers_it(tmp_path):
    executed_chapter(tmp_path / "build", "01_a")
    dest = tmp_path / "gpu"
    editions.write_edition(tmp_path / "build", dest, names=["01_a"], env=GPU_ENV)
    old = tmp_path / ".gpu.old"
    dest.rename(old)                                    # what a kill between the two renames leaves
    with pytest.raises(execute.EditionError, match=rf"interrupted: the previous edition is in {old}\. "
                                                    rf"Put it back with: mv {old} {dest}"):
        staging.stage_edition(dest, tmp_path / "chapters")
    old.rename(dest)
    assert manifests.read_edition(dest)["profile"] == "gpu"


def test_a_killed_writes_temporary_folder_is_removed_by_the_next_write(tmp_path):
    executed_chapter(tmp_path / "build", "01_a")
    leftover = tmp_path / ".gpu-abc123"
    (leftover / "results").mkdir(parents=True)
    editions.write_edition(tmp_path / "build", tmp_path / "gpu", names=["01_a"], env=GPU_ENV)
    assert not leftover.exists() and not list(tmp_path.glob(".gpu-*"))


def test_a_manifest_cut_short_or_with_a_revision_expression_says_what_to_do(tmp_path):
    hand_made_edition(tmp_path, {"01_a": ("1. A", [Claim("c", "p", "g", "agrees")], GPU_META)})
    edition = tmp_path / "gpu"
    manifest = edition / "manifest.json"
    text = manifest.read_text()
    manifest.write_text(text[:len(text) // 2])
    with pytest.raises(execute.EditionError) as err:
        manifests.read_edition(edition)
    assert "is not valid JSON" in str(err.value) and "re-make it" in str(err.value)
    assert "retrain" not in str(err.value)                # a manifest is not a training run
    commit = git_repo(tmp_path / "repo")
    commit({"lsnb/x.py": "1"})
    status = manifests.edition_status({"commit": "HEAD~0", "dirty": []}, tmp_path / "repo")
    assert status["stale"] and "'HEAD~0', not a commit id" in status["message"]


def test_an_edition_grows_chapter_by_chapter_each_with_its_own_provenance(tmp_path):
    commit = git_repo(tmp_path)
    first = commit({"lsnb/x.py": "1"})
    for name in ("01_a", "02_b"):
        executed_chapter(tmp_path / "build1", name, duration=10.0)
    dest = tmp_path / "book" / "editions" / "gpu"
    editions.write_edition(tmp_path / "build1", dest, names=["01_a", "02_b"], root=tmp_path, env=GPU_ENV)
    second = commit({"lsnb/x.py": "2"})                                   # later code, another day's GPU
    executed_chapter(tmp_path / "build2", "02_b", duration=20.0)
    m = json.loads(editions.write_edition(tmp_path / "build2", dest, names=["02_b"], root=tmp_path,
                                          env=dict(GPU_ENV, gpu="NVIDIA H100")).read_text())
    one, two = m["chapters"]
    assert (one["chapter"], one["commit"], one["gpu"]) == ("01_a", first, "NVIDIA H200")      # kept as it was
    assert (two["chapter"], two["commit"], two["gpu"], two["wall_s"]) == ("02_b", second, "NVIDIA H100", 20.0)
    assert m["total_wall_s"] == 30.0 and manifests.read_edition(dest)["chapters"] == m["chapters"]
    statuses = manifests.chapter_statuses(m, tmp_path)                  # staleness is per chapter
    assert statuses["01_a"]["stale"] and not statuses["02_b"]["stale"]
    assert "1 of 2 chapters" in manifests.overall_status(statuses)["message"]
    # a failed chapter adds nothing: the edition stays as it was
    executed_chapter(tmp_path / "build3", "01_a", profile="cpu")
    with pytest.raises(execute.EditionError, match="an edition is one profile"):
        editions.write_edition(tmp_path / "build3", dest, names=["01_a"], root=tmp_path, env=GPU_ENV)
    assert manifests.read_edition(dest)["chapters"] == m["chapters"]


def test_a_chapter_that_reuses_another_is_made_with_it_and_names_it():
    assert manifests.with_dependencies(["03_calibration"]) == ["02_representations", "03_calibration"]
    assert manifests.with_dependencies(["02_representations"]) == ["02_representations", "03_calibration",
                                                                    "05_later_claims"]
    assert manifests.with_dependencies(["05_later_claims"]) == ["02_representations", "05_later_claims"]
    assert manifests.with_dependencies(["04_distillation", "01_label_smoothing"]) == ["01_label_smoothing",
                                                                                   "04_distillation"]
    record = manifests.make_manifest([{"chapter": "03_calibration", "meta": {}}], profile="gpu", env={})["chapters"][0]
    assert record["builds_on"] == ["02_representations"]


def test_the_next_group_is_the_first_chapter_the_edition_lacks_with_what_it_reuses(tmp_path):
    assert editions.next_group(tmp_path / "none") == ["01_label_smoothing"]
    hand_made_edition(tmp_path, {"01_label_smoothing": ("1", [], GPU_META)})
    # chapter 2 with chapters 3 and 5, which reuse its runs: made once, together
    assert editions.next_group(tmp_path / "gpu") == ["02_representations", "03_calibration", "05_later_claims"]
