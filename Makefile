# The README's commands. `make run` is the main job, `make test` runs every test.
SWIFT ?= swift

.PHONY: setup build run test check-examples bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

run: build
	.build/debug/intermesh up specs/local.yaml --outer-steps 30 --data intermesh-data/local-demo --fresh

test: setup
	$(SWIFT) build --build-tests
	# End-to-end suites start servers and MPI jobs: one suite at a time keeps their timing honest on 2 cores.
	$(SWIFT) test --skip-build --no-parallel
	# Engines under management, with torchft's own clients and torch (installed by setup into .venv).
	.venv/bin/python -m unittest discover -s Tests/engines -v
	# The web console in a real browser (Debian's Chromium under Selenium) against `intermesh up`; screenshots in .build/artifacts/console.
	.venv/bin/python -m unittest discover -s Tests/console -v
	# The HTTP API fuzzed from its OpenAPI document (schemathesis): no 5xx, no answer outside the schemas.
	bash Tests/api/schemathesis.sh
	bash scripts/check-examples.sh
	# Five minutes of faults on a three-site run (kills, freezes, a partition, throttling, corrupt checkpoints, a full
	# disk, a hot apply and an undo) with every invariant checked; needs root for network namespaces. Report in .build/chaos.
	python3 scripts/chaos.py --duration 300 --seed 1

bench: setup
	$(SWIFT) build -c release --product intermesh-bench
	$(SWIFT) build -c release --product intermesh-trainer
	$(SWIFT) build -c release --product intermesh
	.build/release/intermesh-bench plan
	.build/release/intermesh-bench trainer
	CONFIG=release RUN_DIR=.build/runs/bench bash scripts/standalone-run.sh 30 specs/local.yaml

clean:
	rm -rf .build
