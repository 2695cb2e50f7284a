#!/usr/bin/env python3
"""How fast the console's pages load in a real browser (Debian's Chromium under Selenium), for a run of 3 sites x 1
replica next to one of 100 sites x 10 replicas, each on its own `intermesh serve`.

Each run's members heartbeat through the API (as admin) with a training loss and per-source evaluation losses for
`--steps` outer steps, and keep heartbeating while the browser loads each page `--loads` times from a blank tab.
Printed per run and page: the median and worst time from the start of navigation to the page drawn (the runs table;
the run's mesh from the first streamed view; its charts from the first streamed series), and the view's size.

    .venv/bin/python scripts/console-bench.py [--config debug|release] [--loads 5] [--steps 50]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "console"))
from browser import chromium, wait  # noqa: E402


def spec(sites, replicas):
    lines = [
        "apiVersion: intermesh/v1", "kind: TrainingRun", "metadata:", "  name: bench", "spec:",
        "  engine: {kind: reference, entrypoint: intermesh-trainer}",
        "  model: {kind: mlp, layers: 1, hiddenSize: 32, embeddingSize: 8, vocabSize: 256, sequenceLength: 16}",
        "  data:", "    mix:", "      - {name: prose, path: data/prose.txt, weight: 0.6}", "      - {name: code, path: data/code.txt, weight: 0.4}",
        "  faultPolicy: {minReplicas: 1, heartbeatTimeout: 30s}", "  sites:",
    ]
    for index in range(sites):
        lines.append(f"    - {{name: site-{index}, region: r{index % 7}, replicas: {replicas}, bandwidth: {1 + index % 4}Gbps, "
                     f"launcher: {{kind: slurm, partition: gpu}}}}")
    return "\n".join(lines) + "\n"


class Serve:
    def __init__(self, binary):
        self.directory = tempfile.mkdtemp(prefix="intermesh-console-bench-")
        token_file = os.path.join(self.directory, "admin.token")
        self.log = open(os.path.join(self.directory, "serve.log"), "w+")
        self.process = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", os.path.join(self.directory, "data"),
                                         "--admin-token-file", token_file], stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(0)
            match = re.search(r"listening on (http://[0-9.]+:\d+)", self.log.read())
            if match:
                self.url = match.group(1)
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("intermesh serve did not start")
        with open(token_file) as file:
            self.token = file.read().strip()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def close(self):
        self.process.terminate()
        self.process.wait(10)
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def beat(serve, sites, replicas, step):
    for site in range(sites):
        members = [{"id": f"m-{site}-{index}", "slot": f"site-{site}/{index}", "state": "training", "outerStep": step,
                    "loss": 4.0 / (1 + 0.05 * step) + 0.01 * index, "evalBySource": {"prose": 3.9 / (1 + 0.05 * step), "code": 3.5 / (1 + 0.04 * step)}}
                   for index in range(replicas)]
        serve.call("POST", f"/v1/runs/bench/sites/site-{site}/heartbeats", {"members": members})


def measure(driver, url, ready, loads):
    """Loads `url` `loads` times from a blank tab; the page's own clock (ms since navigation start) of `ready`."""
    times = []
    for _ in range(loads):
        driver.get("about:blank")
        driver.get(url)
        value = wait(driver, f"return document.body && document.body.dataset.{ready}", 60, interval=0.02)
        if not value:
            raise RuntimeError(f"{url}: the page never set {ready}")
        times.append(float(value))
    return times


def bench(binary, sites, replicas, steps, loads):
    serve = Serve(binary)
    try:
        serve.call("POST", "/v1/runs", {"spec": spec(sites, replicas)})
        for step in range(1, steps + 1):
            beat(serve, sites, replicas, step)
        # Members stay live while the browser loads the pages.
        stop = threading.Event()

        def keep_beating():
            while not stop.wait(2):
                beat(serve, sites, replicas, steps)
        beater = threading.Thread(target=keep_beating, daemon=True)
        beater.start()
        started = time.perf_counter()
        view = serve.call("GET", "/v1/runs/bench/view")
        view_ms = (time.perf_counter() - started) * 1000
        series = serve.call("GET", "/v1/runs/bench/series")
        driver = chromium()
        try:
            driver.get(serve.url + "/")
            if not wait(driver, "return document.getElementById('token')", 30):
                raise RuntimeError("no sign-in page")
            driver.find_element("id", "token").send_keys(serve.token)
            driver.find_element("id", "sign-in").click()
            if not wait(driver, "return document.querySelector('#runs tr[data-run]')", 30):
                raise RuntimeError("sign-in failed")
            runs = measure(driver, serve.url + "/", "renderedAt", loads)
            mesh = measure(driver, serve.url + "/#/runs/bench", "renderedAt", loads)
            charts = measure(driver, serve.url + "/#/runs/bench", "chartsAt", loads)
            cells = driver.execute_script("return document.querySelectorAll('#mesh .slot').length")
            lines = driver.execute_script("return document.querySelectorAll('#loss-chart polyline').length")
        finally:
            driver.quit()
            stop.set()
        return {"runs": runs, "mesh": mesh, "charts": charts, "cells": cells, "lines": lines,
                "view_bytes": len(view), "series_bytes": len(series), "view_ms": view_ms}
    finally:
        serve.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="debug")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    arguments = parser.parse_args()
    binary = os.path.join(ROOT, ".build", arguments.config, "intermesh")
    print(f"console page loads, Chromium headless, {arguments.loads} loads each from a blank tab, {arguments.config} build, "
          f"{arguments.steps} outer steps of losses per replica")
    print(f"{'run':<18}{'page':<22}{'median ms':>10}{'worst ms':>10}   notes")
    for sites, replicas in ((3, 1), (100, 10)):
        figures = bench(binary, sites, replicas, arguments.steps, arguments.loads)
        name = f"{sites} x {replicas}"
        notes = {
            "runs": "runs table drawn",
            "mesh": f"{figures['cells']} slot cells drawn from the first streamed view ({figures['view_bytes'] / 1024:.0f} KiB; "
                    f"GET view {figures['view_ms']:.0f} ms)",
            "charts": f"charts drawn from the first streamed series ({figures['lines']} loss lines, {figures['series_bytes'] / 1024:.0f} KiB)",
        }
        for page in ("runs", "mesh", "charts"):
            values = figures[page]
            label = {"runs": "runs page", "mesh": "run page: mesh", "charts": "run page: charts"}[page]
            print(f"{name:<18}{label:<22}{statistics.median(values):>10.0f}{max(values):>10.0f}   {notes[page]}")


if __name__ == "__main__":
    main()
