# labstack — two commands on a fresh Debian 12 machine (as root):
#   make site   set up the controller and run the main job on inventory/local
#   make test   set up everything and run every test (what CI runs)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      ?= .venv
# The system interpreter, not a pyenv shim: a fresh Debian 12 has only this one.
PYTHON    ?= /usr/bin/python3
BIN       := $(VENV)/bin
INVENTORY ?= inventory/local
PLAYBOOK  := $(BIN)/ansible-playbook -i $(INVENTORY)
STAMPS    := .make
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Tools find each other (molecule runs ansible-playbook, ansible-lint runs ansible) in the venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

.PHONY: help setup check-inventory site restart-user test lint unit integration molecule bench doctor repair clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-16s %s\n", $$1, $$2 }'

$(STAMPS)/host-deps: scripts/install-host-deps.sh
	@mkdir -p $(STAMPS)
	bash scripts/install-host-deps.sh
	@touch $@

$(STAMPS)/test-host-deps: scripts/install-host-deps.sh
	@mkdir -p $(STAMPS)
	bash scripts/install-host-deps.sh --tests
	@touch $@

# The stamp lives inside the venv: deleting or recreating .venv also forgets it.
$(VENV)/.labstack-installed: requirements.txt $(STAMPS)/host-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

setup: $(VENV)/.labstack-installed  ## Install host packages and the Python venv (Ansible, Docker SDK, test tools)

# Ansible's own YAML error names no file; yamllint with no style rules reports syntax only.
check-inventory: setup  ## Check the inventory's YAML syntax, naming file, line and column
	@$(BIN)/yamllint -d '{rules: {}}' -f parsable $(INVENTORY) || { \
	  echo "labstack: the YAML above in $(INVENTORY) does not parse; fix it and rerun." >&2; exit 1; }

site: check-inventory  ## Build or converge the lab described by $(INVENTORY) (default: this machine)
	$(PLAYBOOK) site.yml $(ARGS)

restart-user: check-inventory  ## Restart one user's container and nobody else's: make restart-user user=NAME
	@test -n "$(user)" || { echo "labstack: name the user: make restart-user user=NAME" >&2; exit 2; }
	$(PLAYBOOK) playbooks/restart-user.yml -e user=$(user) $(ARGS)

doctor: check-inventory  ## Read-only diagnosis of containers that cannot be removed
	$(PLAYBOOK) playbooks/doctor.yml $(ARGS)

repair: check-inventory  ## Clear stuck containers found by the doctor (the only mutating path)
	$(PLAYBOOK) playbooks/repair.yml $(ARGS)

lint: setup  ## ansible-lint (production profile) and ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production

unit: setup $(STAMPS)/test-host-deps  ## Pure-Python tests of the plugins (no Docker needed)
	$(BIN)/pytest -q tests/unit

integration: site $(STAMPS)/test-host-deps  ## End-to-end tests on the real engine, after the main job ran
	$(BIN)/pytest -q tests/integration

# molecule runs ansible-config and ansible-playbook from PATH: put the venv's first.
molecule: site  ## Molecule scenarios (Docker driver, systemd Debian 12 image built locally)
	cd roles/docker_engine && PATH="$(CURDIR)/$(BIN):$$PATH" ../../$(BIN)/molecule test --all

test: lint unit integration molecule  ## Everything CI runs

bench: site  ## Benchmarks, printed side by side with their baselines
	$(BIN)/python bench/run.py

clean:  ## Remove the venv and stamps (never touches containers, images or user data)
	rm -rf $(VENV) $(STAMPS)
