"""Starts `intermesh serve` (and `intermesh up`) for the torchft tests, and talks to their API."""
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
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


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Up:
    """`intermesh up SPEC` in its own process group, with torch's programs on PATH; its output goes to a file. It serves
    TLS with an authority of its data directory (tls/ca.pem), which the API calls here verify against."""

    def __init__(self, spec_path, outer_steps=None):
        self.directory = tempfile.mkdtemp(prefix="intermesh-up-")
        self.data = os.path.join(self.directory, "data")
        self.authority = os.path.join(self.data, "tls", "ca.pem")
        self.url = f"https://127.0.0.1:{free_port()}"
        arguments = [BIN, "up", spec_path, "--data", self.data, "--listen", self.url[len("https://"):]]
        if outer_steps:
            arguments += ["--outer-steps", str(outer_steps)]
        environment = dict(os.environ, PATH=VENV_BIN + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        self.log = open(os.path.join(self.directory, "up.log"), "w+")
        self.process = subprocess.Popen(arguments, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env=environment,
                                        start_new_session=True)
        self.token = wait_for(self.read_token, 60)
        if not self.token:
            raise RuntimeError("intermesh up did not start: " + self.output())
        # The token is written before the API listens: wait until it answers.
        if not wait_for(self.answers, 60):
            raise RuntimeError("intermesh up did not answer: " + self.output())

    def answers(self):
        try:
            return self.get("/v1/server") is not None
        except (urllib.error.URLError, OSError):
            return False

    def read_token(self):
        try:
            with open(os.path.join(self.data, "admin.token")) as file:
                return file.read().strip() or None
        except OSError:
            return None

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def get(self, path):
        request = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token})
        context = ssl.create_default_context(cafile=self.authority)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())

    def cli(self, *arguments):
        """Runs an intermesh command against this control plane; returns (exit code, output)."""
        token_file = os.path.join(self.data, "admin.token")
        done = subprocess.run([BIN, *arguments, "--server", self.url, "--token-file", token_file, "--ca-file", self.authority], cwd=ROOT,
                              capture_output=True, text=True)
        return done.returncode, done.stdout + done.stderr

    def agent_replicas(self, site):
        """The replicas the site's agent supervises (its agent.json)."""
        try:
            with open(os.path.join(self.data, "agents", site, "agent.json")) as file:
                return json.load(file)["replicas"]
        except (OSError, ValueError, KeyError):
            return []

    def replica_log(self, site, index):
        try:
            with open(os.path.join(self.data, "agents", site, "logs", f"{site}-{index}.log")) as file:
                return file.read()
        except OSError:
            return ""

    def interrupt(self, timeout=90):
        """Ctrl-C: returns the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def close(self):
        if self.process.poll() is None:
            self.interrupt()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def outer_lines(text):
    """The `{"event": "outer", ...}` lines of a replica log, per incarnation (split at the agent's banners)."""
    incarnations = []
    for line in text.splitlines():
        if line.startswith("=== ") and " incarnation " in line:
            incarnations.append([])
        elif incarnations and line.startswith("{") and '"event": "outer"' in line:
            incarnations[-1].append(json.loads(line))
    return incarnations


def processes_matching(fragment):
    """Pids whose command line contains `fragment` (other than this process)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if fragment.encode() in file.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found
