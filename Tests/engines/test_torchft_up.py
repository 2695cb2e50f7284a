"""`intermesh up specs/torchft-local.yaml`: three torchft replica groups train DiLoCo under their agents."""
import os
import signal
import time
import unittest

import json

from harness import Up, outer_lines, processes_matching, wait_for

SCRIPT = "examples/torchft/train_diloco.py"
SLOTS = (("alpha", 0), ("alpha", 1), ("beta", 0))


def start_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"event": "start"' in line]


class TorchftUpTests(unittest.TestCase):
    def test_groups_train_a_killed_one_heals_from_a_peer_and_ctrl_c_leaves_no_process(self):
        up = Up("specs/torchft-local.yaml")
        try:
            def steps(site, index):
                return [line["outer_step"] for lines in outer_lines(up.replica_log(site, index)) for line in lines]

            self.assertTrue(wait_for(lambda: all(max(steps(*slot), default=0) >= 3 for slot in SLOTS), 180, 0.5),
                            "every group reaches outer step 3\n" + up.output()[-3000:])
            victim = [record for record in up.agent_replicas("alpha") if record["slot"] == "alpha/1"][0]
            os.kill(victim["pid"], signal.SIGKILL)
            killed_at = max(max(steps(*slot)) for slot in SLOTS)
            print(f"\n  killed alpha/1 (member {victim['member']}) at outer step {killed_at}")

            def healed():
                incarnations = outer_lines(up.replica_log("alpha", 1))
                return len(incarnations) >= 2 and len(incarnations[-1]) >= 2 and incarnations
            incarnations = wait_for(healed, 180, 0.5)
            self.assertTrue(incarnations, "its agent relaunches alpha/1 and it trains again\n" + up.output()[-3000:])
            relaunched = incarnations[-1]
            started = [line for line in start_lines(up.replica_log("alpha", 1))][-1]["time"]
            others_at_start = max(line["outer_step"] for site, index in (("alpha", 0), ("beta", 0))
                                  for lines in outer_lines(up.replica_log(site, index)) for line in lines if line["time"] <= started)
            print(f"  the new incarnation logged outer steps {[line['outer_step'] for line in relaunched]} "
                  f"(the others were at {others_at_start} when it started)")
            # It healed from a peer: its first step follows the others' step when it started, not 1 (a fresh model
            # starts at step 0). How many syncs it takes to be admitted depends on the machine's load, not asserted.
            self.assertGreater(relaunched[0]["outer_step"], max(others_at_start, killed_at),
                               "it resumes at the others' step, healed from a peer")

            # The others never stopped: each trained on in one incarnation, its outer step only ever rising. A group
            # that misses one quorum on a loaded machine (the join timeout) heals from a peer at the next one, as
            # torchft means it to, so its log may jump a step; it never goes back or repeats one.
            reached = wait_for(lambda: min(max(steps(*slot)) for slot in SLOTS) >= relaunched[0]["outer_step"] + 2, 120, 0.5)
            self.assertTrue(reached)
            for site, index in (("alpha", 0), ("beta", 0)):
                incarnations_of = outer_lines(up.replica_log(site, index))
                self.assertEqual(len(incarnations_of), 1, f"{site}/{index} was never relaunched")
                logged = [line["outer_step"] for line in incarnations_of[0]]
                self.assertEqual(logged, sorted(set(logged)), f"{site}/{index} never repeated or went back a step")
                skipped = sorted(set(range(logged[0], logged[-1] + 1)) - set(logged))
                if skipped:
                    print(f"  {site}/{index} missed the quorum of outer steps {skipped} and healed from a peer")

            # Parameters match after every sync in which the groups took part together.
            by_step = {}
            for slot in SLOTS:
                for lines in outer_lines(up.replica_log(*slot)):
                    for line in lines:
                        by_step.setdefault(line["outer_step"], {})[f"{slot[0]}/{slot[1]}"] = line
            shared = [step for step, lines in by_step.items() if len(lines) == 3]
            self.assertGreaterEqual(len(shared), 4)
            for step in shared:
                hashes = {line["hash"] for line in by_step[step].values() if line["participants"] == 3}
                self.assertLessEqual(len(hashes), 1, f"outer step {step}: parameters differ: {by_step[step]}")
            # The loss falls.
            first = sorted(by_step)[:2]
            last = sorted(by_step)[-2:]
            mean = lambda steps_: sum(line["loss"] for step in steps_ for line in by_step[step].values()) / sum(
                len(by_step[step]) for step in steps_)
            self.assertLess(mean(last), mean(first), "training loss falls")
            print(f"  loss {mean(first):.3f} (steps {first}) -> {mean(last):.3f} (steps {last}); "
                  f"{len(shared)} steps with identical parameters in all three groups")

            # The control plane saw it: the member table has the new incarnation, the events the exit and relaunch.
            members = {member["slot"]: member for member in up.get("/v1/runs/torchft-demo/members")}
            self.assertEqual(set(members), {"alpha/0", "alpha/1", "beta/0"})
            self.assertNotEqual(members["alpha/1"]["id"], victim["member"])
            self.assertEqual(members["alpha/1"]["incarnation"], 2)
            code, diff = up.cli("diff", "torchft-demo")
            self.assertEqual(code, 0, diff)

            self.assertEqual(up.interrupt(), 0, up.output()[-2000:])
            self.assertTrue(wait_for(lambda: not processes_matching(SCRIPT), 15), "Ctrl-C leaves no training process")
        finally:
            up.close()


if __name__ == "__main__":
    unittest.main()
