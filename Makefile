# Two commands matter: `make demo` (set up, then serve the demo) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FONT   := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
CHROME := /usr/bin/chromium
PDFSIG := /usr/bin/pdfsig
SOFTHSM := /usr/lib/softhsm/libsofthsm2.so
WRK    := /usr/bin/wrk
# npm ci writes node_modules/.package-lock.json: newer than the lock file once every
# package it pins (bpmn-js, dmn-js, Chart.js) is installed.
ASSETS := node_modules/.package-lock.json

.PHONY: setup demo test lint bench clean

$(BIN)/motcua: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# Vietnamese PDFs need a Unicode TrueType font; Debian's DejaVu has every diacritic.
$(FONT):
	@command -v apt-get >/dev/null || { echo "Install the DejaVu fonts (fonts-dejavu-core) or set MOTCUA_FONT_DIR."; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core

# The studio's diagram and decision-table editors, bpmn-js and dmn-js, come from the npm
# registry at the versions pinned by package-lock.json; Flask serves their built files from
# node_modules (/studio/vendor/, /studio/dmn-vendor/).
$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } || { echo "Install Node.js and npm, then run: npm ci"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
$(CHROME):
	@command -v apt-get >/dev/null || { echo "Install Chromium (Debian package chromium)."; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The verification tests compare `motcua verify` with poppler's pdfsig (Debian poppler-utils).
$(PDFSIG):
	@command -v apt-get >/dev/null || { echo "Install pdfsig (Debian package poppler-utils)."; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils

# Officers' keys in PKCS#11 tokens (MOTCUA_SIGNER=pkcs11) use SoftHSM2 (Debian softhsm2);
# its tokens live under the data directory, never in the system's token directory.
$(SOFTHSM):
	@command -v apt-get >/dev/null || { echo "Install SoftHSM2 (Debian package softhsm2) or set MOTCUA_PKCS11_LIB."; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2

setup: $(BIN)/motcua $(FONT) $(ASSETS) $(SOFTHSM)

# The first run also plays six months of demo dossiers through the engine (a few minutes,
# once): the story the leaders' page /thong-ke tells.
demo: setup
	$(BIN)/motcua demo --history 6m

test: setup $(CHROME) $(PDFSIG) $(SOFTHSM)
	$(BIN)/ruff check .
	$(BIN)/pytest

# The HTTP benchmark drives the server with wrk (Debian package wrk).
$(WRK):
	@command -v apt-get >/dev/null || { echo "Install wrk (Debian package wrk)."; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk

bench: setup $(WRK)
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.steps
	$(BIN)/python -m bench.signing
	$(BIN)/python -m bench.tokens
	$(BIN)/python -m bench.inbox
	$(BIN)/python -m bench.http

clean:
	rm -rf $(VENV) var .pytest_cache node_modules
