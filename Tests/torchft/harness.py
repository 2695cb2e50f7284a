"""Starts `intermesh serve` (and `intermesh up`) for the torchft tests, and talks to their API."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, ".build", os.environ.get("CONFIG", "debug"), "intermesh")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def spec(name, kind="torchft", sites=(("alpha", 2), ("beta", 1)), policy=None, entrypoint="examples/torchft/train_diloco.py",
         extra_engine=""):
    """A run spec: `sites` as (name, replicas); `policy` overrides fault-policy lines."""
    faults = {"heartbeatInterval": "500ms", "heartbeatTimeout": "2s", "minReplicas": 1, "joinTimeout": "1s"}
    faults.update(policy or {})
    site_text = "".join(
        f"    - name: {site}\n      replicas: {count}\n      bandwidth: 1Gbps\n      launcher:\n        kind: local\n"
        for site, count in sites)
    policy_text = "".join(f"    {key}: {value}\n" for key, value in faults.items() if not isinstance(value, dict))
    for key, value in faults.items():
        if isinstance(value, dict):
            policy_text += f"    {key}:\n" + "".join(f"      {k}: {v}\n" for k, v in value.items())
    return f"""apiVersion: intermesh/v1
kind: TrainingRun
metadata:
  name: {name}
spec:
  engine:
    kind: {kind}
    entrypoint: {entrypoint}
{extra_engine}  model:
    kind: mlp
    layers: 1
    hiddenSize: 32
    embeddingSize: 8
    vocabSize: 256
    sequenceLength: 16
  data:
    mix:
      - name: prose
        path: data/prose.txt
        weight: 1
  training:
    innerSteps: 10
    batchSize: 8
  network:
    basePort: 29700
  sites:
{site_text}  faultPolicy:
{policy_text}"""


class Server:
    """`intermesh serve` on free ports of loopback, with its admin token."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="intermesh-torchft-")
        self.token_file = os.path.join(self.directory, "admin.token")
        self.log = open(os.path.join(self.directory, "serve.log"), "w+")
        self.process = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--data", os.path.join(self.directory, "data"), "--admin-token-file",
             self.token_file], stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(0)
            match = re.search(r"listening on (http://[0-9.]+:\d+), Lighthouse \(torchft\) on ([0-9.]+:\d+)", self.log.read())
            if match:
                self.url = match.group(1)
                self.lighthouse = "http://" + match.group(2)
                break
            if self.process.poll() is not None:
                raise RuntimeError("intermesh serve exited: " + self.output())
            time.sleep(0.1)
        else:
            raise RuntimeError("intermesh serve did not start: " + self.output())
        with open(self.token_file) as file:
            self.token = file.read().strip()

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def apply(self, text):
        path = os.path.join(self.directory, "spec.yaml")
        with open(path, "w") as file:
            file.write(text)
        return subprocess.run([BIN, "apply", "-f", path, "--server", self.url, "--token-file", self.token_file], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout

    def get(self, path):
        request = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def members(self, run):
        return self.get(f"/v1/runs/{run}/members")

    def events(self, run):
        return self.get(f"/v1/runs/{run}/events?limit=1000")

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def wait_for(predicate, timeout, interval=0.1):
    """Polls `predicate` until it returns a true value (returned) or `timeout` seconds pass (None)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None
