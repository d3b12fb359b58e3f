# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
MO := webui/translations/en/LC_MESSAGES/messages.mo

.PHONY: run test lint setup system-packages bench i18n clean

setup: $(STAMP) $(NPM_STAMP) $(MO)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# bpmn-js and friends come from npm and are served from node_modules/ (no CDN, no copies).
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(NPM_STAMP)

$(MO): webui/translations/en/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d webui/translations

# Browser tests need Debian's Chromium, and Chinese needs a CJK font; installed when
# missing and we may (root, as on CI), otherwise say what to install.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	fc-list 2>/dev/null | grep -qi -e wqy -e "noto sans cjk" || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (Debian packages)"; exit 1; fi; \
	fi

run: setup
	$(BIN)/dingdan serve --demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint system-packages
	$(BIN)/python -m pytest

# Every measure of the speed issue (procedure, long loop, inbox, HTTP, timers) in one table,
# written to benchmarks/RESULTS.md; `make bench BENCH=--quick` for a smoke run.
bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH)

# After changing user-visible text: extract it, update the English catalogue, fill it from
# webui/translations/en.tsv, and list what still has no English.
i18n: setup
	$(BIN)/pybabel extract --no-location -F babel.cfg -o webui/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i webui/translations/messages.pot -d webui/translations -l en
	$(BIN)/python webui/translations/fill.py
	$(BIN)/pybabel compile -d webui/translations

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
