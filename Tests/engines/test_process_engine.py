"""An engine that speaks nothing (`membership: process`) under `intermesh up`: its agent heartbeats for each process."""
import os
import signal
import tempfile
import unittest
import urllib.error

from harness import Up, processes_matching, spec, wait_for

RUN = "plain"


class ProcessEngineTests(unittest.TestCase):
    def test_killed_processes_are_relaunched_then_quarantined_and_diff_says_so(self):
        text = spec(RUN, kind="command", entrypoint="Tests/engines/fixtures/worker.sh", sites=(("alpha", 1), ("beta", 1)),
                    policy={"restart": {"attempts": 2, "interval": "2m", "delay": "1s", "maxDelay": "2s"}})
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
            file.write(text)
        up = Up(file.name)
        try:
            def members():
                try:
                    return {member["slot"]: member for member in up.get(f"/v1/runs/{RUN}/members")}
                except urllib.error.HTTPError as error:
                    if error.code == 404:  # up has not applied the run yet
                        return {}
                    raise

            def events():
                return [(event["kind"], event["message"]) for event in up.get(f"/v1/runs/{RUN}/events?limit=1000")]

            self.assertTrue(wait_for(lambda: set(members()) == {"alpha/0", "beta/0"}, 60, 0.25),
                            "the agents register both processes\n" + up.output()[-2000:])
            self.assertEqual({member["state"] for member in members().values()}, {"training"})
            code, output = up.cli("diff", RUN)
            self.assertEqual(code, 0, output)
            code, output = up.cli("describe", "run", RUN)
            self.assertEqual(code, 0, output)

            # Killed: the agent reports the exit (the member leaves at once) and relaunches the slot.
            first = members()["alpha/0"]["id"]
            pid = [record["pid"] for record in up.agent_replicas("alpha") if record["member"] == first][0]
            os.kill(pid, signal.SIGKILL)
            replaced = wait_for(lambda: members().get("alpha/0", {}).get("id", first) != first and members()["alpha/0"], 30, 0.25)
            self.assertTrue(replaced, "a new incarnation of alpha/0 registers\n" + up.output()[-2000:])
            self.assertEqual(replaced["incarnation"], 2)
            self.assertTrue(any(kind == "Exited" and first in message for kind, message in events()))
            self.assertTrue(wait_for(lambda: up.cli("diff", RUN)[0] == 0, 15, 0.5), "in sync again")

            # Killed again and again: past its restart budget the slot is quarantined and the diff shows the gap.
            for _ in range(5):
                if any(kind == "Quarantined" for kind, _ in events()):
                    break
                current = members().get("alpha/0")
                if current:
                    for record in up.agent_replicas("alpha"):
                        if record["member"] == current["id"]:
                            os.kill(record["pid"], signal.SIGKILL)
                wait_for(lambda: members().get("alpha/0", {}).get("id") != (current or {}).get("id") or None, 15, 0.25)
            quarantined = wait_for(lambda: [message for kind, message in events() if kind == "Quarantined"], 20, 0.5)
            self.assertTrue(quarantined, events()[-8:])
            self.assertIn("alpha/0", quarantined[0])
            self.assertTrue(wait_for(lambda: "alpha/0" not in members(), 15, 0.25), "the quarantined slot has no member")
            code, output = up.cli("diff", RUN)
            self.assertEqual(code, 1, output)
            self.assertIn("alpha/0", output)
            self.assertEqual(set(members()), {"beta/0"}, "beta/0 kept running all along")

            self.assertEqual(up.interrupt(), 0, up.output()[-2000:])
            self.assertTrue(wait_for(lambda: not processes_matching("987654"), 15), "Ctrl-C leaves no process")
        finally:
            up.close()
            os.unlink(file.name)


if __name__ == "__main__":
    unittest.main()
