# Every workflow of the project. `make demo` and `make test` bootstrap .venv
# themselves (pinned requirements.txt); a second run reuses it.

# First Python 3.10-3.13 on PATH (python3 itself when it fits).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,10) <= sys.version_info[:2] <= (3,13))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

BOARD ?= esp32-devkitc
CHIP ?= esp32
PORT ?=
CONFIG ?=
FIRMWARE ?=

.PHONY: demo test bench fuzz soak venv clean build deploy flash config monitor restart need-port \
	ota backup restore need-host

# The 32-bit MicroPython (the ESP32's object sizes) from ../shared/micropython32;
# without ../shared it says so and the tests that need it skip.
MP32 := $(BIN)/micropython32

$(STAMP): requirements.txt tools/fetch_umqtt.py
	@test -n "$(PYTHON)" || { echo "make: need Python 3.10-3.13 on PATH (python3)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python tools/fetch_umqtt.py $(VENV)/mplib
	@touch $@

venv: $(STAMP)

$(MP32): $(STAMP) tools/micropython32.py
	$(BIN)/python tools/micropython32.py --out $@

# no hardware: a simulated meter feeding the virtual dongle (DEMO_METER=aidon|kaifa|
# kamstrup|p1, DEMO_HTTP_PORT=8080, DEMO_MQTT=host:port|off, DEMO_SPEED=1)
demo: $(STAMP)
	$(BIN)/python tools/demo.py $(DEMO_ARGS)

test: $(STAMP) $(MP32)
	$(BIN)/python -m pytest host_tests

# speed and memory against the peers and the goals; BENCH="--quick" for a
# short run, BENCH="--readme" to write the figures into README.md
bench: $(STAMP) $(MP32)
	$(BIN)/python tools/bench.py $(BENCH)

# a million mutated inputs through Decoder.feed (FUZZ="--inputs N" to change)
fuzz: $(STAMP)
	$(BIN)/python tools/fuzz.py $(FUZZ)

# a simulated day on the virtual dongle with faults (SOAK="--hours N")
soak: $(STAMP)
	$(BIN)/python tools/soak.py $(SOAK)

build: $(STAMP)
	$(BIN)/python tools/build.py --board $(BOARD) $(if $(MPY_ARCH),--arch $(MPY_ARCH))

need-port:
	@test -n "$(PORT)" || { echo "make: set PORT, e.g. PORT=/dev/ttyUSB0 (or the virtual dongle's pty)"; exit 2; }

deploy: build need-port
	$(BIN)/python tools/deploy.py --port $(PORT) --board $(BOARD) $(if $(CONFIG),--config $(CONFIG))

flash: $(STAMP) need-port
	@test -n "$(FIRMWARE)" || { echo "make: set FIRMWARE=path/to/micropython.bin (see README: Installing, 1. Flash MicroPython)"; exit 2; }
	$(BIN)/python tools/flash.py --port $(PORT) --chip $(CHIP) --firmware $(FIRMWARE) $(if $(DRY_RUN),--dry-run) $(if $(FORCE),--force)

config: $(STAMP)
	$(BIN)/python tools/configure.py --out $(or $(CONFIG),config.json)

# attaches without stopping the firmware; `make restart` shows its start
monitor: $(STAMP) need-port
	@echo "monitor: the console of the running firmware (Ctrl-] leaves; it keeps running)."
	@echo "monitor: to see the start: Ctrl-C stops the firmware, Ctrl-D starts it again (soft reset)."
	$(BIN)/mpremote connect $(PORT) repl

# a soft reset while attached: shows the start, leaves the firmware running
# (after an mpremote command, which stops it)
restart: $(STAMP) need-port
	$(BIN)/python tools/console.py --port $(PORT)

need-host:
	@test -n "$(HOST)" || { echo "make: set HOST, the dongle's address (HOST=192.168.1.50, HOST=hanport-1b2c3d.local, HOST=127.0.0.1:8080)"; exit 2; }

# over Wi-Fi, with the admin password (PASSWORD=..., else asked for): the
# bundle make build makes for BOARD (or BUNDLE=file), then follows the
# dongle until the new version is healthy or rolled back (README: Updating)
ota: $(STAMP) need-host
	$(if $(BUNDLE),,$(BIN)/python tools/build.py --board $(BOARD) $(if $(MPY_ARCH),--arch $(MPY_ARCH)))
	@HANPORT_PASSWORD='$(PASSWORD)' $(BIN)/python tools/ota.py update --host $(HOST) $(if $(BUNDLE),--bundle $(BUNDLE))

# config and energy history into FILE (default hanport-backup-<time>.json);
# SECRETS=1 includes passwords and keys
backup: $(STAMP) need-host
	@HANPORT_PASSWORD='$(PASSWORD)' $(BIN)/python tools/ota.py backup --host $(HOST) $(if $(FILE),--out $(FILE)) $(if $(SECRETS),--secrets)

restore: $(STAMP) need-host
	@test -n "$(FILE)" || { echo "make: set FILE, a backup made by make backup"; exit 2; }
	@HANPORT_PASSWORD='$(PASSWORD)' $(BIN)/python tools/ota.py restore --host $(HOST) --file $(FILE)

clean:
	rm -rf build .pytest_cache .hypothesis
