#!/usr/bin/env python3
"""Chaos run: a three-site run of the reference engine under `intermesh serve` and one `intermesh agent` per site,
with faults injected at random times from a seed while invariants are checked. Needs root (network namespaces, tc,
tmpfs) and a debug build (`swift build`).

    scripts/chaos.py --duration 300 --seed 1       # what CI runs
    scripts/chaos.py --duration 1800 --seed 7 --out .build/chaos/long

Layout: alpha (1 replica) and beta (1 replica of 2 MPI ranks) run in this network namespace on 10.203.0.1; gamma (1
replica) runs in its own namespace on 10.203.0.2, joined by a veth pair, so it can be cut off (`ip link set down`)
and throttled (`tc tbf`); alpha's checkpoints are on a small tmpfs that a fault fills. The control plane listens on
10.203.0.1.

Faults: kill -9 of a replica, of an MPI rank, of an agent (its supervisor restarts it), of the control plane
(restarted on the same store); SIGSTOP of a replica past the heartbeat timeout, SIGCONT later (within or past
faultPolicy.disconnectGrace); gamma cut off for 5-60 s; gamma's link throttled to 4 Mbit/s; a checkpoint corrupted and
its replica killed; alpha's checkpoint disk full; a hot apply and later an undo.

Invariants, reported at the end (exit 1 when one fails): the parameter hashes of every outer step agree among its
quorum; no outer step mixes revisions; no slot has two incarnations in one quorum; every revision an apply or undo
acknowledged, and every event seen during the run, is in the store at the end; progress (outer steps per minute) stays
above --min-progress of the fault-free baseline measured first in the same run; the control plane's resident memory
stays under --max-rss-mib; no process is left behind once the agents and the control plane are stopped.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "debug", "intermesh")
RUN = "chaos"
NETNS = "imchaos"
HOST_LINK, NS_LINK = "imc-h", "imc-n"
HOST_IP, NS_IP = "10.203.0.1", "10.203.0.2"
SITES = ("alpha", "beta", "gamma")
KINDS = {  # kind: weight
    "kill_replica": 3, "kill_rank": 1, "kill_agent": 2, "kill_control_plane": 1, "stop_replica": 2,
    "partition": 2, "throttle": 2, "corrupt_checkpoint": 1, "disk_full": 1,
}

SPEC = """apiVersion: intermesh/v1
kind: TrainingRun
metadata:
  name: {run}
spec:
  engine: {{kind: reference, entrypoint: intermesh-trainer}}
  model: {{kind: mlp, layers: 2, hiddenSize: 128, embeddingSize: 16, vocabSize: 256, sequenceLength: 32}}
  data:
    mix:
      - {{name: prose, path: data/prose.txt, weight: 0.5}}
      - {{name: code, path: data/code.txt, weight: 0.5}}
  training:
    innerSteps: 20
    batchSize: 16
    innerOptimizer: {{lr: 3.0e-3}}
    outerOptimizer: {{lr: {outer_lr}, momentum: 0.9}}
    quantization: int8
    checkpoint: {{interval: 20, keep: 2}}
  network: {{basePort: 29900}}
  sites:
    - {{name: alpha, replicas: 1, bandwidth: 1Gbps, launcher: {{kind: local, hosts: [{host}]}}}}
    - name: beta
      replicas: 1
      ranksPerReplica: 2
      bandwidth: 1Gbps
      launcher: {{kind: mpirun, hosts: [{host}]}}
      env: {{OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1", OMPI_MCA_rmaps_base_oversubscribe: "1"}}
    - {{name: gamma, replicas: 1, bandwidth: 100Mbps, launcher: {{kind: local, hosts: [{ns_host}]}}}}
  faultPolicy:
    heartbeatInterval: 1s
    heartbeatTimeout: 5s
    disconnectGrace: 20s
    minReplicas: 2
    joinTimeout: 15s
    restart: {{attempts: 30, interval: 5m, delay: 1s, backoff: 1.5, maxDelay: 5s}}
"""


def sh(*arguments, check=True):
    return subprocess.run(arguments, capture_output=True, text=True, check=check)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Mesh:
    """The processes of the run: the control plane, the agents, and where their replicas are."""

    def __init__(self, directory, port):
        self.directory = directory
        self.port = port
        self.url = f"http://{HOST_IP}:{port}"
        self.token_file = os.path.join(directory, "admin.token")
        self.serve = None
        self.agents = {}
        self.serve_starts = 0

    # The network: gamma in its own namespace; alpha's checkpoints on a small tmpfs.
    def set_up_network(self):
        self.tear_down_network()
        sh("ip", "netns", "add", NETNS)
        sh("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", NS_LINK)
        sh("ip", "link", "set", NS_LINK, "netns", NETNS)
        sh("ip", "addr", "add", HOST_IP + "/24", "dev", HOST_LINK)
        sh("ip", "link", "set", HOST_LINK, "up")
        sh("ip", "netns", "exec", NETNS, "ip", "addr", "add", NS_IP + "/24", "dev", NS_LINK)
        sh("ip", "netns", "exec", NETNS, "ip", "link", "set", NS_LINK, "up")
        sh("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
        disk = os.path.dirname(self.checkpoints("alpha"))
        os.makedirs(disk, exist_ok=True)
        sh("mount", "-t", "tmpfs", "-o", "size=4m", "chaos-alpha", disk)

    def tear_down_network(self):
        sh("umount", "-l", os.path.dirname(self.checkpoints("alpha")), check=False)
        sh("ip", "netns", "del", NETNS, check=False)
        sh("ip", "link", "del", HOST_LINK, check=False)

    def checkpoints(self, site):
        """Where the site's agent has its replica write checkpoints."""
        return os.path.join(self.agent_directory(site), "checkpoints", f"{site}-0")

    def start_serve(self):
        self.serve_starts += 1
        out = open(os.path.join(self.directory, f"serve-{self.serve_starts}.log"), "w")
        self.serve = subprocess.Popen(
            [BIN, "serve", "--data", os.path.join(self.directory, "store"), "--listen", f"{HOST_IP}:{self.port}",
             "--insecure-plain-http", "--lighthouse-port", "off", "--admin-token-file", self.token_file],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        wait_for(lambda: self.answers(), 60, "the control plane to answer")

    def answers(self):
        try:
            self.get("/v1/runs")
            return True
        except Exception:
            return False

    def request(self, method, path, body=None, timeout=10):
        with open(self.token_file) as file:
            token = file.read().strip()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def get(self, path):
        return self.request("GET", path)

    def agent_directory(self, site):
        return os.path.join(self.directory, "agents", site)

    def start_agent(self, site):
        directory = self.agent_directory(site)
        os.makedirs(directory, exist_ok=True)
        token = os.path.join(directory, "agent.token")
        if not os.path.exists(token):
            issued = self.request("POST", "/v1/tokens", {"role": "agent", "run": RUN, "site": site})
            with open(token, "w") as file:
                file.write(issued["token"])
        prefix = ["ip", "netns", "exec", NETNS] if site == "gamma" else []
        out = open(os.path.join(directory, "agent.log"), "a")
        self.agents[site] = subprocess.Popen(
            prefix + [BIN, "agent", "--site", site, "--run", RUN, "--server", self.url, "--token-file", token,
                      "--state-dir", directory, "--workdir", ROOT, "--stop-replicas-on-exit"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)

    def replica(self, site):
        """The site's replica as its agent recorded it (pid: the process the agent started)."""
        try:
            with open(os.path.join(self.agent_directory(site), "agent.json")) as file:
                replicas = json.load(file).get("replicas", [])
        except (OSError, ValueError):
            return None
        alive = [r for r in replicas if r.get("pid") and pid_alive(r["pid"])]
        return alive[0] if alive else None

    def processes(self):
        """Every process started for this run's directory (agents, replicas, mpirun), zombies aside; not this runner
        nor what started it (a shell or `timeout` whose command line names --out)."""
        found = []
        ours = set()
        pid = os.getpid()
        while pid > 1 and pid not in ours:
            ours.add(pid)
            try:
                with open(f"/proc/{pid}/stat") as file:
                    pid = int(file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in ours:
                continue
            try:
                with open(f"/proc/{entry}/stat") as file:
                    if ") Z " in file.read():
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    cmdline = file.read()
                with open(f"/proc/{entry}/environ", "rb") as file:
                    environ = file.read()
            except OSError:
                continue
            if self.directory.encode() in cmdline or self.directory.encode() in environ:
                found.append(int(entry))
        return found

    def ranks(self, site):
        """Trainer processes of a site's replica with their MPI rank."""
        out = []
        for pid in self.processes():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as file:
                    cmdline = file.read().split(b"\0")
                with open(f"/proc/{pid}/environ", "rb") as file:
                    environ = dict(item.split(b"=", 1) for item in file.read().split(b"\0") if b"=" in item)
            except OSError:
                continue
            if any(part.endswith(b"intermesh-trainer") for part in cmdline) and f"{site}/0".encode() in b" ".join(cmdline):
                out.append((pid, int(environ.get(b"OMPI_COMM_WORLD_RANK", b"0"))))
        return out

    def serve_rss_mib(self):
        try:
            with open(f"/proc/{self.serve.pid}/status") as file:
                for line in file:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as file:
            return ") Z " not in file.read()
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


class Chaos:
    def __init__(self, options):
        self.options = options
        self.random = random.Random(options.seed)
        self.directory = os.path.abspath(options.out or os.path.join(ROOT, ".build", "chaos", f"seed-{options.seed}"))
        shutil.rmtree(self.directory, ignore_errors=True)
        os.makedirs(self.directory)
        self.mesh = Mesh(self.directory, options.port)
        self.samples = []  # (time, live, desired, outer step)
        self.faults = []  # {kind, target, at, ends, healed}
        self.pending = []  # (time, undo, fault)
        self.active = set()  # targets with a fault in progress
        self.revisions = set()
        self.events = {}
        self.rss = []
        self.slow_links = []  # (time, slow links in the view, slow links in describe)
        self.control_plane_down = False

    # Run.
    def run(self):
        options = self.options
        self.mesh.set_up_network()
        try:
            self.start()
            baseline = self.measure_baseline(options.baseline)
            self.inject(options.duration)
            self.settle()
            report = self.finish(baseline)
        finally:
            self.stop_everything()
            self.mesh.tear_down_network()
        return report

    def write_spec(self, outer_lr):
        path = os.path.join(self.directory, f"spec-{outer_lr}.yaml")
        with open(path, "w") as file:
            file.write(SPEC.format(run=RUN, outer_lr=outer_lr, host=HOST_IP, ns_host=NS_IP))
        return path

    def apply(self, outer_lr):
        with open(self.write_spec(outer_lr)) as file:
            answer = self.mesh.request("POST", "/v1/runs", {"spec": file.read()})
        self.revisions.add(answer["revision"])
        log(f"applied outer lr {outer_lr}: revision {answer['revision']} ({answer['outcome']})")

    def start(self):
        self.mesh.start_serve()
        self.apply(0.7)
        for site in SITES:
            self.mesh.start_agent(site)
        wait_for(lambda: self.observe() and self.samples[-1][1] == 3 and self.samples[-1][3] >= 1, 240,
                 "3 replicas training past outer step 1", interval=1)

    def observe(self):
        """One sample of the run (when the control plane answers), the control plane's memory, and new events."""
        now = time.time()
        rss = self.mesh.serve_rss_mib()
        if rss is not None:
            self.rss.append((now, self.mesh.serve_starts, rss))
        try:
            view = self.mesh.get(f"/v1/runs/{RUN}/view")
            described = self.mesh.get(f"/v1/runs/{RUN}")
            events = self.mesh.get(f"/v1/runs/{RUN}/events?after={max(self.events, default=0)}&limit=500")
        except Exception:
            return False
        # Slow links as the live view and describe name them: (from, to) of each site whose link is slow.
        self.slow_links.append((now, {(s["link"]["from"], s["link"]["to"]) for s in view["sites"] if (s.get("link") or {}).get("slow")},
                                {(s["link"]["from"], s["link"]["to"]) for s in described["sites"] if (s.get("link") or {}).get("slow")}))
        slots = {slot["slot"]: (slot["health"], slot.get("member"), slot.get("outerStep") or 0)
                 for site in view["sites"] for slot in site["slots"]}
        steps = [step for health, _, step in slots.values() if health == "live"]
        # (time, live, desired, the run's outer step, the outer step of the replica furthest behind, each slot)
        self.samples.append((now, view["live"], view["desired"], view["outerStep"], min(steps, default=0), slots))
        for event in events:
            self.events[event["id"]] = event["message"]
        return True

    def measure_baseline(self, seconds):
        log(f"baseline: {seconds} s without faults")
        self.observe()
        first = self.samples[-1]
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(1)
            self.observe()
        last = self.samples[-1]
        rate = (last[3] - first[3]) / ((last[0] - first[0]) / 60)
        log(f"baseline: {rate:.2f} outer steps per minute")
        return {"seconds": round(last[0] - first[0]), "outer_steps": last[3] - first[3], "per_minute": rate}

    # Faults.
    def inject(self, duration):
        start = time.time()
        self.chaos_start = start
        self.chaos_first_step = self.samples[-1][3]
        applied = undone = False
        next_fault = start + self.random.uniform(3, 10)
        while time.time() - start < duration:
            now = time.time()
            for item in [p for p in self.pending if p[0] <= now]:
                self.pending.remove(item)
                item[1]()
                item[2]["ends"] = time.time()
                self.active.discard(item[2]["target"])
            if not applied and now - start > duration * 0.35:
                applied = self.hot_change(0.6)
            if applied and not undone and now - start > duration * 0.65:
                undone = self.undo()
            if now >= next_fault:
                self.fault()
                next_fault = now + self.random.uniform(6, 18)
            self.supervise()
            self.observe()
            time.sleep(1)
        self.chaos_end = time.time()
        self.chaos_last_step = self.samples[-1][3]
        for when, undo, fault in sorted(self.pending, key=lambda p: p[0]):
            undo()
            fault["ends"] = time.time()
        self.pending = []

    def hot_change(self, outer_lr):
        try:
            self.apply(outer_lr)
            return True
        except Exception as error:
            log(f"hot apply refused for now: {error}")
            return False

    def undo(self):
        try:
            answer = self.mesh.request("POST", f"/v1/runs/{RUN}/rollout/undo", {})
            self.revisions.add(answer["revision"])
            log(f"undo: revision {answer['revision']} ({answer['outcome']})")
            return True
        except Exception as error:
            log(f"undo refused for now: {error}")
            return False

    def supervise(self):
        """What a process supervisor (systemd) does for agents: restart one that died. The control plane is
        restarted by its own fault's undo."""
        for site, process in list(self.mesh.agents.items()):
            if process.poll() is not None and f"agent:{site}" not in self.active:
                log(f"agent {site} exited ({process.returncode}); restarting it")
                self.mesh.start_agent(site)

    def fault(self):
        kinds = [kind for kind in KINDS if self.available(kind)]
        if not kinds:
            return
        kind = self.random.choices(kinds, weights=[KINDS[k] for k in kinds])[0]
        record = {"kind": kind, "at": time.time(), "step": self.samples[-1][3] if self.samples else 0}
        getattr(self, kind)(record)
        self.faults.append(record)
        log(f"fault {kind}: {record.get('target')} {record.get('detail', '')}")

    def available(self, kind):
        if kind == "kill_control_plane":
            return "control-plane" not in self.active
        if kind in ("partition", "throttle"):
            return "link:gamma" not in self.active
        if kind == "disk_full":
            return "disk:alpha" not in self.active
        return True

    def later(self, seconds, undo, record, target):
        record["target"] = target
        self.active.add(target)
        self.pending.append((time.time() + seconds, undo, record))

    def pick_replica(self, record, sites=SITES):
        candidates = [site for site in sites if self.mesh.replica(site) and f"replica:{site}" not in self.active]
        if not candidates:
            record["target"] = "none"
            return None, None
        site = self.random.choice(candidates)
        replica = self.mesh.replica(site)
        record["target"] = record["slot"] = f"{site}/0"
        return site, replica

    def kill_replica(self, record):
        site, replica = self.pick_replica(record)
        if replica:
            os.kill(replica["pid"], signal.SIGKILL)
            record["member"] = replica.get("member")
            record["ends"] = time.time()

    def kill_rank(self, record):
        ranks = [pid for pid, rank in self.mesh.ranks("beta") if rank == 1]
        record["target"], record["slot"] = "beta/0 rank 1", "beta/0"
        record["member"] = (self.mesh.replica("beta") or {}).get("member")
        if ranks:
            os.kill(ranks[0], signal.SIGKILL)
        record["ends"] = time.time()

    def kill_agent(self, record):
        site = self.random.choice(SITES)
        record["target"] = f"agent {site}"
        process = self.mesh.agents.get(site)
        if process and process.poll() is None:
            process.kill()
            process.wait()
        self.later(self.random.uniform(1, 5), lambda: self.mesh.start_agent(site), record, f"agent:{site}")

    def kill_control_plane(self, record):
        self.mesh.serve.kill()
        self.mesh.serve.wait()
        self.later(self.random.uniform(2, 8), self.mesh.start_serve, record, "control-plane")

    def stop_replica(self, record):
        site, replica = self.pick_replica(record, sites=("alpha", "gamma"))
        if not replica:
            return
        seconds = self.random.uniform(6, 32)
        record["detail"] = f"for {seconds:.0f} s"
        os.kill(replica["pid"], signal.SIGSTOP)

        def resume(pid=replica["pid"]):
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        self.later(seconds, resume, record, f"replica:{site}")

    def partition(self, record):
        seconds = self.random.uniform(5, 60)
        record["detail"] = f"for {seconds:.0f} s"
        sh("ip", "link", "set", HOST_LINK, "down")
        self.later(seconds, lambda: sh("ip", "link", "set", HOST_LINK, "up"), record, "link:gamma")

    def throttle(self, record):
        seconds = self.random.uniform(20, 60)
        record["detail"] = f"4mbit for {seconds:.0f} s"
        tbf = ["root", "tbf", "rate", "4mbit", "burst", "32kbit", "latency", "400ms"]
        sh("tc", "qdisc", "replace", "dev", HOST_LINK, *tbf)
        sh("ip", "netns", "exec", NETNS, "tc", "qdisc", "replace", "dev", NS_LINK, *tbf)

        def lift():
            sh("tc", "qdisc", "del", "dev", HOST_LINK, "root", check=False)
            sh("ip", "netns", "exec", NETNS, "tc", "qdisc", "del", "dev", NS_LINK, "root", check=False)
        self.later(seconds, lift, record, "link:gamma")

    def corrupt_checkpoint(self, record):
        site, replica = self.pick_replica(record, sites=("beta", "gamma"))
        if not replica:
            return
        directory = self.mesh.checkpoints(site)
        files = sorted(f for f in os.listdir(directory) if f.startswith("checkpoint-")) if os.path.isdir(directory) else []
        if not files:
            record["detail"] = "no checkpoint yet"
            return
        path = os.path.join(directory, files[-1])
        size = os.path.getsize(path)
        with open(path, "r+b") as file:
            if self.random.random() < 0.5:
                file.truncate(size // 2)
                record["detail"] = f"{files[-1]} truncated"
            else:
                file.seek(size // 2)
                file.write(os.urandom(64))
                record["detail"] = f"{files[-1]} overwritten"
        os.kill(replica["pid"], signal.SIGKILL)
        record["member"] = replica.get("member")
        record["ends"] = time.time()

    def disk_full(self, record):
        seconds = self.random.uniform(20, 45)
        record["detail"] = f"for {seconds:.0f} s"
        filler = os.path.join(os.path.dirname(self.mesh.checkpoints("alpha")), "filler")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        self.later(seconds, lambda: os.path.exists(filler) and os.remove(filler), record, "disk:alpha")

    # The end.
    def settle(self):
        log("faults over: waiting for the run to heal")
        step = self.samples[-1][3]
        try:
            # Healed: every replica live and past the outer step the run was at when the last fault ended.
            wait_for(lambda: self.observe() and self.samples[-1][1] == self.samples[-1][2] and self.samples[-1][4] > step, 120,
                     "every replica live and training", interval=1)
        except RuntimeError as error:
            log(str(error))

    def heal_times(self):
        """Per fault: seconds from its end until every replica is live again and has trained past the outer step the
        run was at when the fault ended (a straggler caught up, a relaunched replica recovered and trained). A fault
        that ended a replica (kill, corrupted checkpoint) heals only once a new incarnation of its slot did so."""
        for fault in self.faults:
            end = fault.get("ends", fault["at"])
            step = max((s[3] for s in self.samples if s[0] <= end), default=0)
            slot, ended = fault.get("slot"), fault.get("member")

            def healed(sample):
                if sample[0] < end or sample[1] != sample[2] or sample[4] <= step:
                    return False
                return slot is None or ended is None or sample[5].get(slot, (None, ended))[1] != ended
            healed = next((s[0] for s in self.samples if healed(s)), None)
            fault["heal_seconds"] = None if healed is None else round(healed - end, 1)

    def log_events(self, site):
        """The JSON lines of the site's replica log, each with the member that wrote it (from the agent's banner)."""
        path = os.path.join(self.mesh.agent_directory(site), "logs", f"{site}-0.log")
        if not os.path.exists(path):
            return
        member = "?"
        with open(path, errors="replace") as file:
            for line in file:
                if line.startswith("=== ") and ", member " in line:
                    member = line.split(", member ")[1].split(",")[0]
                if not line.startswith("{"):
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                yield member, event

    def outer_sync_times(self, site):
        """When the site's replica finished each outer sync (its log's "outer" lines)."""
        return [event["time"] for _, event in self.log_events(site) if event.get("event") == "outer" and "time" in event]

    def slow_link_sightings(self):
        """For each throttle of gamma's link during which gamma took part in 3 outer syncs or more (a replica that only
        heals from a peer advances its step without a sync, and nothing measures its link): whether the live view and
        describe named a slow link to or from gamma while it lasted."""
        checked = seen_view = seen_describe = 0
        synced = self.outer_sync_times("gamma")
        for fault in (f for f in self.faults if f["kind"] == "throttle"):
            start, end = fault["at"], fault.get("ends", fault["at"])
            if sum(1 for t in synced if start <= t <= end) < 3:
                continue
            checked += 1
            window = [entry for entry in self.slow_links if start + 2 <= entry[0] <= end + 2]
            involves = lambda links: any("gamma/0" in (a, b) for a, b in links)
            seen_view += any(involves(view) for _, view, _ in window)
            seen_describe += any(involves(described) for _, _, described in window)
            fault["slow_link_seen"] = {"view": any(involves(v) for _, v, _ in window), "describe": any(involves(d) for _, _, d in window)}
        return {"throttles_checked": checked, "seen_in_view": seen_view, "seen_in_describe": seen_describe}

    def check_logs(self):
        """From the replicas' logs: hash agreement, one revision and one incarnation per slot in each quorum."""
        quorums = {}
        skipped = failed_checkpoints = 0
        for site in SITES:
            for member, event in self.log_events(site):
                if event.get("event") == "checkpoint_skipped":
                    skipped += 1
                if event.get("event") == "checkpoint_failed":
                    failed_checkpoints += 1
                if event.get("event") == "outer":
                    quorums.setdefault(event["quorum_id"], []).append((f"{site}/0", member, event))
        problems = []
        for quorum, entries in sorted(quorums.items()):
            hashes = {e["hash"] for _, _, e in entries}
            revisions = {e["revision"] for _, _, e in entries}
            steps = {e["outer_step"] for _, _, e in entries}
            slots = [slot for slot, _, _ in entries]
            if len(hashes) > 1:
                problems.append(f"quorum {quorum} (outer step {steps}): parameter hashes differ: {sorted(hashes)}")
            if len(revisions) > 1:
                problems.append(f"quorum {quorum}: revisions mixed: {sorted(revisions)}")
            if len(slots) != len(set(slots)):
                problems.append(f"quorum {quorum}: a slot trained twice: {[(s, m) for s, m, _ in entries]}")
        by_step = {}
        for entries in quorums.values():
            for _, _, event in entries:
                by_step.setdefault(event["outer_step"], set()).add(event["hash"])
        problems += [f"outer step {step}: quorums ended with different parameters" for step, h in sorted(by_step.items()) if len(h) > 1]
        return {"quorums": len(quorums), "problems": problems, "checkpoints_skipped": skipped, "checkpoint_writes_failed": failed_checkpoints}

    def check_store(self):
        """Every acknowledged revision and every event seen is still in the store."""
        missing = []
        history = self.mesh.get(f"/v1/runs/{RUN}/rollout/history")
        stored = {entry["revision"] for entry in history}
        missing += [f"revision {r}" for r in sorted(self.revisions - stored)]
        events = {}
        after = 0
        while True:
            page = self.mesh.get(f"/v1/runs/{RUN}/events?after={after}&limit=1000")
            if not page:
                break
            for event in page:
                events[event["id"]] = event["message"]
            after = page[-1]["id"]
        missing += [f"event {i}: {m}" for i, m in sorted(self.events.items()) if events.get(i) != m]
        return {"revisions": sorted(self.revisions), "events_seen": len(self.events), "missing": missing}

    def finish(self, baseline):
        self.observe()
        self.heal_times()
        logs = self.check_logs()
        store = self.check_store()
        slow = self.slow_link_sightings()
        minutes = (self.chaos_end - self.chaos_start) / 60
        rate = (self.chaos_last_step - self.chaos_first_step) / minutes
        max_rss = max((r[2] for r in self.rss), default=0)
        leftovers = self.stop_everything()
        by_kind = {}
        for fault in self.faults:
            entry = by_kind.setdefault(fault["kind"], {"count": 0, "heal_seconds": []})
            entry["count"] += 1
            if fault["heal_seconds"] is not None:
                entry["heal_seconds"].append(fault["heal_seconds"])
        invariants = {
            "parameter hashes agree within every quorum and outer step": not any("hash" in p or "parameters" in p for p in logs["problems"]),
            "no outer step mixes revisions": not any("revisions mixed" in p for p in logs["problems"]),
            "no slot has two incarnations in one quorum": not any("trained twice" in p for p in logs["problems"]),
            "every acknowledged revision and event is in the store": not store["missing"],
            f"progress at least {self.options.min_progress:.0%} of the fault-free baseline": rate >= self.options.min_progress * baseline["per_minute"],
            f"control plane memory under {self.options.max_rss_mib} MiB": max_rss < self.options.max_rss_mib,
            "no process left behind after stopping": not leftovers,
            "every throttle of gamma's link showed as a slow link in the view and describe":
                slow["seen_in_view"] == slow["throttles_checked"] and slow["seen_in_describe"] == slow["throttles_checked"],
        }
        report = {
            "seed": self.options.seed, "duration_seconds": round(self.chaos_end - self.chaos_start), "baseline": baseline,
            "chaos": {"outer_steps": self.chaos_last_step - self.chaos_first_step, "per_minute": round(rate, 2),
                      "fraction_of_baseline": round(rate / baseline["per_minute"], 2) if baseline["per_minute"] else None},
            "faults": by_kind, "fault_log": self.faults, "quorums_checked": logs["quorums"], "problems": logs["problems"],
            "checkpoints_skipped_on_load": logs["checkpoints_skipped"], "checkpoint_writes_failed": logs["checkpoint_writes_failed"],
            "store": store, "control_plane_rss_mib": {"max": round(max_rss, 1), "starts": self.mesh.serve_starts},
            "leftover_processes": leftovers, "slow_links": slow, "invariants": invariants,
        }
        with open(os.path.join(self.directory, "report.json"), "w") as file:
            json.dump(report, file, indent=2, default=str)
        self.print_report(report)
        return report

    def print_report(self, report):
        print(f"\nchaos seed {report['seed']}: {report['duration_seconds']} s of faults; baseline "
              f"{report['baseline']['per_minute']:.2f} outer steps/min, under faults {report['chaos']['per_minute']:.2f} "
              f"({report['chaos']['fraction_of_baseline']})")
        print(f"{'fault':<20} {'count':>5} {'heal median s':>14} {'heal max s':>11} {'not healed':>11}")
        for kind, entry in sorted(report["faults"].items()):
            heals = sorted(entry["heal_seconds"])
            median = heals[len(heals) // 2] if heals else None
            print(f"{kind:<20} {entry['count']:>5} {str(median):>14} {str(max(heals) if heals else None):>11} "
                  f"{entry['count'] - len(heals):>11}")
        print(f"quorums checked: {report['quorums_checked']}; checkpoints skipped on load: {report['checkpoints_skipped_on_load']}; "
              f"checkpoint writes failed: {report['checkpoint_writes_failed']}; control plane: {report['control_plane_rss_mib']['starts']} "
              f"starts, max RSS {report['control_plane_rss_mib']['max']} MiB; events seen: {report['store']['events_seen']}")
        slow = report["slow_links"]
        print(f"throttles of gamma's link while it synced: {slow['throttles_checked']}; named slow in the view: {slow['seen_in_view']}, "
              f"in describe: {slow['seen_in_describe']}")
        for problem in report["problems"][:20]:
            print("  problem:", problem)
        for missing in report["store"]["missing"][:20]:
            print("  missing from the store:", missing)
        for name, held in report["invariants"].items():
            print(f"{'ok  ' if held else 'FAIL'} {name}")

    def stop_everything(self):
        """Stops the agents (they stop their replicas) and the control plane, as Ctrl-C would; returns leftovers."""
        sh("ip", "link", "set", HOST_LINK, "up", check=False)
        for site, process in self.mesh.agents.items():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.mesh.agents.values():
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.mesh.serve and self.mesh.serve.poll() is None:
            self.mesh.serve.send_signal(signal.SIGTERM)
            try:
                self.mesh.serve.wait(20)
            except subprocess.TimeoutExpired:
                self.mesh.serve.kill()
        time.sleep(1)
        leftovers = self.mesh.processes()
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return leftovers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=300, help="seconds of faults (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=60, help="seconds without faults first, the anchor for progress")
    parser.add_argument("--min-progress", type=float, default=0.25, help="least outer steps per minute under faults, as a fraction of the baseline")
    parser.add_argument("--max-rss-mib", type=int, default=512)
    parser.add_argument("--port", type=int, default=7790)
    parser.add_argument("--out", help="directory for logs and report.json (default .build/chaos/seed-N)")
    parser.add_argument("--bin", help="directory with intermesh and intermesh-trainer (default .build/debug); a copy keeps a long run "
                                      "apart from rebuilds")
    options = parser.parse_args()
    global BIN
    if options.bin:
        BIN = os.path.join(os.path.abspath(options.bin), "intermesh")
    if os.geteuid() != 0:
        sys.exit("chaos.py: needs root (network namespaces, tc, tmpfs)")
    if not os.path.exists(BIN):
        sys.exit(f"chaos.py: {BIN} is missing; run `swift build` first")
    report = Chaos(options).run()
    sys.exit(0 if all(report["invariants"].values()) else 1)


if __name__ == "__main__":
    main()
