#!/usr/bin/env bash
# Installs what Intermesh needs on a fresh Debian machine; does nothing when it is all there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium and chromedriver run the web console's tests in a real browser; iproute2 (ip netns, tc) the chaos run's
# network namespaces and throttled link. Slurm (controller, node daemon, client and
# munge) and OpenSSH run the end-to-end tests of the slurm and ssh launchers on this machine (the ssh test starts its
# own sshd on loopback). The store's tests run PostgreSQL's own
# binaries (initdb, pg_ctl) for a private cluster; the package's service is not used. libcurl's headers are for the
# reference engine's client.
packages=(shellcheck libsqlite3-dev libcurl4-openssl-dev postgresql libopenblas-dev zlib1g-dev libopenmpi-dev openmpi-bin slurmctld slurmd slurm-client munge
  openssh-client openssh-server chromium chromium-driver iproute2)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The schema check validates the example specs with an off-the-shelf JSON Schema validator.
if ! python3 -c 'import jsonschema, yaml' 2>/dev/null; then
  echo "setup: installing jsonschema and pyyaml"
  python3 -m pip install --quiet jsonschema pyyaml
fi

# torch and torchft (PyPI) in the project's virtual environment: the torchft engine's example and the tests that run
# torchft's own clients against the control plane's Lighthouse endpoint. torch brings its CUDA wheels (about 5.4 GB).
if ! .venv/bin/python -c 'import torch, torchft' 2>/dev/null; then
  echo "setup: installing torch and torchft into .venv (a few minutes)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet torch==2.15.0 torchft==0.2.0
fi

# schemathesis (PyPI), which fuzzes the HTTP API from its OpenAPI document in the tests.
if ! .venv/bin/st --version >/dev/null 2>&1; then
  echo "setup: installing schemathesis into .venv"
  .venv/bin/pip install --quiet schemathesis==4.32.5
fi

# Selenium (PyPI) drives Debian's Chromium and chromedriver (installed above) in the console's browser tests; it
# downloads no browser or driver.
if ! .venv/bin/python -c 'import selenium' 2>/dev/null; then
  echo "setup: installing selenium into .venv"
  .venv/bin/pip install --quiet selenium==4.38.0
fi

# A one-node Slurm cluster on this machine, unless one is configured already.
bash scripts/slurm-local.sh
