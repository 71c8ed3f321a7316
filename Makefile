# lsnb: `make book` builds the whole book, `make test` runs the tests. Each does its own set-up.
PROFILE ?= cpu
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BUILD  := book/chapters
EDITION := book/editions/gpu
CHAPTERS := $(basename $(notdir $(wildcard notebooks/[0-9][0-9]*_*.md)))
# The run store is shared by every build and chapter: a finished run is never trained twice.
export LSNB_RUNS ?= $(CURDIR)/runs
export LSNB_DATA ?= $(CURDIR)/data
export PYTHONHASHSEED := 0

.PHONY: help setup data book edition gpu-check test golden pair benchmark clean

help:
	@echo "make book [PROFILE=smoke|cpu|gpu|paper]   execute every chapter and build the HTML book"
	@echo "                                     (PROFILE=gpu also writes the GPU edition, book/editions/gpu/)"
	@echo "make test                             import layers (lint-imports), unit tests, golden notebooks (nbval), strict book build"
	@echo "make golden                           re-execute the golden notebooks on the smoke profile"
	@echo "make pair                             re-sync notebooks/*.ipynb from their .md sources"
	@echo "make benchmark                        training throughput: lsnb engine vs DataLoader vs bare loop"
	@echo "make edition [CHAPTERS=\"02_... 03_...\"]  execute those chapters (default: the next ones the GPU"
	@echo "                                     edition lacks) on gpu and add them to book/editions/gpu/"
	@echo "make gpu-check [CHAPTERS=...] [DRY=1]  on a GPU machine: CUDA tests, short benchmark, the next"
	@echo "                                     chapters of the edition, one archive in \$$OUT (README)"

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# The offline default data: Debian's dataset-fashion-mnist where apt and root are there,
# else torchvision's download; lsnb.data.images says what to do when neither works. The English->German
# corpus en_de (lsnb.data.text) needs Debian's FreeDict dictionary dict-freedict-eng-deu.
data: setup
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null; } || \
	  echo "note: could not install dataset-fashion-mnist with apt; trying torchvision's download"; fi
	@if [ ! -f /usr/share/dictd/freedict-eng-deu.index ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dict-freedict-eng-deu >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dict-freedict-eng-deu >/dev/null; } || \
	  echo "note: could not install dict-freedict-eng-deu with apt; the en_de corpus needs it"; fi
	$(PY) -m lsnb.data.images fashion_mnist
	$(PY) -m lsnb.data.text en_de

# Each chapter: jupytext, then papermill with the profile into $(BUILD)/ -- one line per chapter here,
# papermill's whole output in $(BUILD)/logs/<chapter>.log (its tail printed when a chapter fails), and
# jupyter-book's in $(BUILD)/logs/jupyter-book.log (its warnings printed when the strict build fails).
# `make book PROFILE=gpu` also keeps the execution as the GPU edition in $(EDITION)/ (commit it); every
# build renders the committed edition as a part of its own and in the scorecard (lsnb/build/editions.py).
book: data
	@rm -rf $(BUILD) && mkdir -p $(BUILD)/results
	@$(PY) -m lsnb.build.editions execute --profile $(PROFILE) --out $(BUILD) --results $(BUILD)/results \
	  --logs $(BUILD)/logs $(CHAPTERS)
	@$(if $(filter gpu,$(PROFILE)),$(PY) -m lsnb.build.editions write $(EDITION) --chapters $(BUILD) --profile $(PROFILE),:)
	@$(PY) -m lsnb.build.editions stage $(EDITION) $(BUILD)
	@$(PY) -m lsnb.build.scorecard $(BUILD)/results $(BUILD)/scorecard_table.md --edition $(EDITION)
	@echo "jupyter-book build (strict; its output: $(BUILD)/logs/jupyter-book.log)"
	@$(VENV)/bin/jupyter-book build . -W --keep-going -q > $(BUILD)/logs/jupyter-book.log 2>&1 || \
	  { grep -E "WARNING|ERROR" $(BUILD)/logs/jupyter-book.log || tail -40 $(BUILD)/logs/jupyter-book.log; exit 1; }
	@echo "Book built: $(CURDIR)/_build/html/index.html"

# The GPU edition grows chapter by chapter: just the chapters named on the command line (and those they
# reuse), or the next ones it lacks, executed on `gpu` and added, replacing older copies only when all succeed.
EDITION_PROFILE := $(if $(filter command line,$(origin PROFILE)),$(PROFILE),gpu)
EDITION_CHAPTERS := $(if $(filter command line,$(origin CHAPTERS)),$(CHAPTERS),)
edition: data
	@rm -rf book/edition-build
	$(PY) -m lsnb.build.editions make $(EDITION_CHAPTERS) --profile $(EDITION_PROFILE) --dest $(EDITION) --build book/edition-build

# On a lent GPU machine (no network, minutes): its own python3 with torch and CUDA, the notebook tools from the
# carried wheels (WHEELS), the data carried under LSNB_DATA; everything it makes ends in one archive in OUT.
# DRY=1 runs the same steps on the CPU on `smoke` (make test does), so the command cannot rot without a GPU.
GPU_PY ?= python3
WHEELS ?= wheels
OUT ?= gpu-check-out
gpu-check:
	$(GPU_PY) -m lsnb.build.gpucheck $(EDITION_CHAPTERS) --out $(OUT) --edition $(EDITION) --wheels $(WHEELS) $(if $(filter 1,$(DRY)),--dry,)

# lint-imports: the package's layers (pyproject.toml's contracts) before the tests.
test: data
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest

# The golden notebooks: every chapter executed on the smoke profile, outputs kept for nbval, in the
# portable numeric mode of lsnb/build/portable.py (CPU, fp32, one thread, AVX2 kernels) that the nbval
# kernels of `make test` use too: the same digits on every x86-64 machine.
golden: data
	@rm -rf tests/golden && mkdir -p tests/golden/results
	@for ch in $(CHAPTERS); do \
	  tmp=$$(mktemp -d); \
	  $(PY) -m jupytext --quiet --to ipynb --output $$tmp/$$ch.ipynb notebooks/$$ch.md && \
	  LSNB_PROGRESS=0 LSNB_RUNS=$$tmp/runs LSNB_RESULTS=$(CURDIR)/tests/golden/results \
	    $(PY) -m lsnb.build.portable $(VENV)/bin/papermill --log-level WARNING -p profile smoke $$tmp/$$ch.ipynb tests/golden/$$ch.ipynb \
	    || exit 1; \
	  rm -rf $$tmp; \
	done
	$(PY) -c "from lsnb.data import text; print(text.digest('en_de'))" > tests/golden/en_de.digest

pair: setup
	$(PY) -m jupytext --quiet --sync notebooks/[0-9][0-9]*_*.md

benchmark: data
	$(PY) benchmarks/throughput.py

clean:
	rm -rf _build $(BUILD)
