# The T² companion book. `make book` and `make test` are all anyone needs on a fresh machine.
# Chapters are executed by papermill (one target each), then Jupyter Book renders the staged,
# already-executed notebooks with warnings as errors. `make -j2 book` executes two at a time.

SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
STAGE := _build/stage
HTML := _build/html
MATHJAX_VERSION := 3.2.2
MATHJAX := $(STAGE)/_extra/mathjax/startup.js
# The MathJax components the book loads (_config.yml's mathjax3_config), and the fonts of its HTML output.
MATHJAX_PARTS := startup.js core.js input/tex-base.js input/tex/extensions/ams.js output/chtml.js \
  output/chtml/fonts/tex.js output/chtml/fonts/woff-v2
ICONS := $(STAGE)/_extra/_static/scripts/fontawesome.js

CHAPTERS := $(sort $(basename $(notdir $(wildcard chapters/*.md))))
EXECUTED := $(CHAPTERS:%=$(STAGE)/chapters/%.ipynb)
PAGES := _config.yml _toc.yml intro.md references.md references.bib appendix/suite_format.md data/README.md \
  appendix/simulated_suite.md data/t2_suite/README.md _ext/t2book_assets.py teaching/course.md teaching/glossary.md \
  _static/t2book.css
STAGED_PAGES := $(PAGES:%=$(STAGE)/%)
LIBRARY := $(shell find t2lib -name '*.py') pyproject.toml
DATA_FILES := $(shell find data -type f 2>/dev/null)

.PHONY: help setup book test chapter data checksums bench clean student figures pretrain-setup pretrain pretrain-finetune \
  pretrain-suite pretrain-validation test-pretrain bench-pretrain lab

help:
	@echo "make book      set up .venv, execute every chapter, build the HTML book into $(HTML)"
	@echo "make test      set up .venv, run the unit tests and every chapter in fast mode"
	@echo "make chapter NAME=<chapter> DATA=<suite folder> [OUT=<dir>] [FAST=1] [P=\"name=value ...\"]   rerun one chapter on other data"
	@echo "make chapter NAME=<chapter> HELP=1   list a chapter's parameters, their defaults and meaning"
	@echo "make data      regenerate the simulated suite data/t2_suite (deterministic) and data/SHA256SUMS"
	@echo "make bench     time the paper's fitting recipe against the fast one"
	@echo "make figures   every figure as SVG, 200-dpi PNG and caption (for slides), in $(FIGURES)"
	@echo "make student   the chapters as notebooks with the exercises and without their solutions, in $(STUDENT)"
	@echo "make clean     remove everything built (keeps .venv)"
	@echo "make bench-pretrain  training throughput per model: the first suite's trainer beside each kept speed-up"
	@echo "make test-pretrain   set up .venv-pretrain (torch, lm-eval) and test the miniature-suite pipeline"
	@echo "make lab       the classroom lab: train ten tiny models on a FLOP budget, fit, predict 10x, check (in $(LAB))"
	@echo "make pretrain [BUDGET=110] [WORKERS=2]   train pending grid cells for BUDGET minutes (resumable)"
	@echo "make pretrain-finetune [BUDGET=60] [WORKERS=2]   fine-tune evaluated cells (the ft stage) and evaluate them"
	@echo "make pretrain-suite  evaluate finished cells with lm-evaluation-harness and write data/real/t2mini"
	@echo "make pretrain-validation [BUDGET=110] [WORKERS=2]   the validation experiment after its committed forecast:"
	@echo "                     train, fine-tune and build data/real/t2mini-validation (resumable: rerun to continue)"

setup: $(INSTALLED)

# The pinned stack (requirements.txt) plus t2lib itself, editable. Reinstalled when either changes.
$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# One target per chapter: re-executed when its source, the library or the data change. The
# chapters share a cache of their deterministic fits and bootstrap refits (t2lib/book/cache.py), so the
# chapters that refit what the isoFLOP chapter fitted run after it and reuse its results (and the
# verdict runs after the post-training chapter, whose refits of the second suite it weighs again).
CACHE := $(abspath _build/cache)
# One BLAS thread per chapter: two chapters run at once, and the fits' small matrices only lose
# from threads (oversubscribed, the paper recipe's restarts ran 15 times slower).
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
$(STAGE)/chapters/%.ipynb: chapters/%.md $(LIBRARY) $(DATA_FILES) scripts/run_chapter.py $(INSTALLED)
	$(ONE_THREAD) T2LIB_CACHE=$(CACHE) $(PY) scripts/run_chapter.py $< $@
$(STAGE)/chapters/frontiers.ipynb $(STAGE)/chapters/isoflop_per_task.ipynb $(STAGE)/chapters/verdict.ipynb: | $(STAGE)/chapters/isoflop_profiles.ipynb
$(STAGE)/chapters/verdict.ipynb: | $(STAGE)/chapters/post_training.ipynb

# The execution-statistics page reports the other chapters' build records, so it runs after them.
STATISTICS := $(STAGE)/chapters/execution_statistics.ipynb
$(STATISTICS): $(filter-out $(STATISTICS),$(EXECUTED))

$(STAGED_PAGES): $(STAGE)/%: %
	@mkdir -p $(@D)
	cp $< $@

# MathJax 3 from the npm registry, so the book renders math with no CDN: only the components it loads.
$(MATHJAX):
	@mkdir -p _build/vendor $(@D)
	rm -rf $(STAGE)/_static/mathjax  # an earlier build's single-file MathJax would be loaded as a page script
	cd _build/vendor && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	tar -xzf _build/vendor/mathjax-$(MATHJAX_VERSION).tgz -C _build/vendor $(MATHJAX_PARTS:%=package/es5/%)
	cd _build/vendor/package/es5 && cp -r --parents $(MATHJAX_PARTS) $(abspath $(@D))/

# The theme's Font Awesome bundle cut to the icons the pages use.
$(ICONS): scripts/icon_subset.py $(INSTALLED)
	$(PY) scripts/icon_subset.py $@

# Sphinx rewrites only the pages whose source changed; a change to the book's extension or its
# configuration changes every page, so then all are rebuilt (the stamp marks the last build).
BUILT := $(HTML)/.built
book: $(EXECUTED) $(STAGED_PAGES) $(MATHJAX) $(ICONS)
	$(VENV)/bin/jupyter-book build -W -n --keep-going --path-output . \
	  $$(test $(BUILT) -nt $(STAGE)/_ext/t2book_assets.py -a $(BUILT) -nt $(STAGE)/_config.yml || echo --all) $(STAGE)
	touch $(BUILT)
	@echo "The book is at $(abspath $(HTML))/index.html"

# Every figure of every chapter for slides: SVG, PNG at 200 dpi and its caption, named after the
# chapter and the figure's label. Executes the chapters again (into $(FIGURES)/notebooks).
FIGURES := _build/figures
figures: $(INSTALLED)
	@for chapter in $(CHAPTERS); do \
	  workdir=$$(grep -q '^workdir = ' chapters/$$chapter.md && echo "-p workdir $(FIGURES)/work/$$chapter"); \
	  T2BOOK_SLIDE_FIGURES=1 $(ONE_THREAD) $(PY) scripts/run_chapter.py chapters/$$chapter.md \
	    $(FIGURES)/notebooks/$$chapter.ipynb $$workdir --figures $(FIGURES) >/dev/null || exit 1; \
	done
	@echo "$$(ls $(FIGURES)/*.svg | wc -l) SVG figures, with PNGs and captions, are in $(FIGURES)"

# Two workers (pytest-xdist), one BLAS thread each: the chapter executions dominate and run two at a time.
# The 15 slowest tests are listed at the end (CI's budget is 15 minutes in all).
# pytest exits 5 when it collected nothing: say so rather than fail silently.
PYTEST_ARGS ?= -n 2 --dist worksteal --durations=15
test: $(INSTALLED)
	$(ONE_THREAD) $(PY) -m pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] || echo "make test: pytest collected no tests" >&2; exit $$rc; }

# Rerun one chapter on another suite: make chapter NAME=pass_at_k DATA=path/to/suite OUT=out/ [FAST=1]
# [P="c_inf=1e10 seed=3"]; make chapter NAME=frontiers HELP=1 lists the chapter's parameters.
OUT ?= _build/chapter-runs
chapter: $(INSTALLED)
	@test -n "$(NAME)" || { echo "usage: make chapter NAME=<chapter> DATA=<suite folder> [OUT=<dir>] [FAST=1] [P=\"name=value ...\"] [HELP=1]"; exit 2; }
	@test -f chapters/$(NAME).md || { echo "no chapter named '$(NAME)'; choose one of: $(CHAPTERS)"; exit 2; }
ifdef HELP
	@$(PY) scripts/run_chapter.py chapters/$(NAME).md --list-parameters
else
	$(ONE_THREAD) $(PY) scripts/run_chapter.py chapters/$(NAME).md $(OUT)/$(NAME).ipynb --figures $(OUT) \
	  $(if $(DATA),-p suite $(DATA)) $(if $(FAST),-p fast true) \
	  $(foreach pair,$(P),$(if $(findstring =,$(pair)),-p $(firstword $(subst =, ,$(pair))) $(patsubst $(firstword $(subst =, ,$(pair)))=%,%,$(pair)),$(error P: '$(pair)' is not name=value)))
endif

# The simulated suite is generated here, never by `make book`; the same seed gives the same bytes.
data: $(INSTALLED)
	$(PY) -m t2lib.data.simulate --out data/t2_suite --seed 0
	$(MAKE) checksums

checksums:
	cd data && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS

# The pretraining extras live in their own venv: the book never needs torch or lm-eval.
PRETRAIN_VENV := .venv-pretrain
PRETRAIN_PY := $(PRETRAIN_VENV)/bin/python
PRETRAIN_INSTALLED := $(PRETRAIN_VENV)/.installed
BUDGET ?= 110
WORKERS ?= 2

$(PRETRAIN_INSTALLED): requirements-pretrain.txt pyproject.toml
	test -x $(PRETRAIN_PY) || $(PYTHON) -m venv $(PRETRAIN_VENV)
	$(PRETRAIN_PY) -m pip install --quiet --disable-pip-version-check -r requirements-pretrain.txt
	$(PRETRAIN_PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

pretrain-setup: $(PRETRAIN_INSTALLED)

# One thread per process; WORKERS processes. Rerunning continues where the last run stopped.
pretrain: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pretrain.grid run --budget-minutes $(BUDGET) --workers $(WORKERS)

pretrain-finetune: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pretrain.finetune run --budget-minutes $(BUDGET) --workers $(WORKERS)

pretrain-suite: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pretrain.suite evaluate
	$(PRETRAIN_PY) -m pretrain.suite build
	$(MAKE) checksums

# The validation experiment, once its forecast is committed: train the forecast's models, fine-tune
# them, then write data/real/t2mini-validation and the checksums. Rerun until it says the suite is written.
pretrain-validation: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pretrain.validation experiment --budget-minutes $(BUDGET) --workers $(WORKERS)
	$(MAKE) checksums

# The classroom lab (pretrain/lab.py): ten tiny models on a 3e12-FLOP budget, a law fitted to them, its
# prediction at ten times the budget checked against data/real/t2mini. Rerunning resumes; LAB=folder.
LAB ?= _build/lab
lab: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pretrain.lab all --out $(LAB) --workers $(WORKERS)

test-pretrain: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pytest -n 2 --dist loadfile --durations=10 tests_pretrain || { rc=$$?; [ $$rc -ne 5 ] || echo "make test-pretrain: pytest collected no tests" >&2; exit $$rc; }

# The student edition: chapters as unexecuted notebooks, exercises kept, solutions removed, the prose
# in plain Markdown with the numbers the executed chapters printed (so the chapters are executed first).
STUDENT := _build/student
student: $(EXECUTED)
	$(PY) scripts/student_edition.py $(STUDENT) $(STAGE)/chapters

bench: $(INSTALLED)
	$(PY) -m t2lib.bench

# One thread, as the grid trains; writes _build/bench-pretrain.csv.
bench-pretrain: $(PRETRAIN_INSTALLED)
	OMP_NUM_THREADS=1 $(PRETRAIN_PY) -m pretrain.bench

clean:
	rm -rf _build
