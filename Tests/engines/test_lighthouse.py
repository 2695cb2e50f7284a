"""torchft's own clients (from the torchft wheel) against `intermesh serve` as their Lighthouse."""
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from torchft._torchft import LighthouseClient, ManagerClient, ManagerServer

from harness import Server, spec, wait_for

RUN = "lh"


def replica_id(slot, member, index, run=RUN):
    """What the plan hands a replica group (TORCHFT_REPLICA_ID) plus the `:UUID` torchft's Manager appends."""
    return f"{run}/{slot}/{member}/{index}:{uuid.uuid4()}"


class Beater:
    """Heartbeats replica ids every 200 ms from a thread, as torchft's ManagerServer does."""

    def __init__(self, client, ids):
        self.client = client
        self.ids = set(ids)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopped.is_set():
            for replica in list(self.ids):
                try:
                    self.client.heartbeat(replica, timeout=timedelta(seconds=2))
                except Exception:
                    pass
            time.sleep(0.2)

    def stop(self):
        self.stopped.set()
        self.thread.join()


class LighthouseTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.apply(spec(RUN))
        cls.server.apply(spec("native", kind="reference", entrypoint="intermesh-trainer"))
        cls.client = LighthouseClient(cls.server.lighthouse, connect_timeout=timedelta(seconds=5))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def ask_all(self, ids, step=0):
        """Every id asks for a quorum at once; returns their answers."""
        def ask(replica):
            return self.client.quorum(replica_id=replica, timeout=timedelta(seconds=20), address=f"addr-{replica}",
                                      store_address="store", step=step, world_size=1, shrink_only=False)
        with ThreadPoolExecutor(len(ids)) as pool:
            return list(pool.map(ask, ids))

    def ask_until_together(self, ids, step, rounds=5):
        """Every id asks, and asks again at the next step while its answer lacks one of the others, as training
        processes do step after step: a group that starts a moment late misses one round, then they are together."""
        def converge(replica):
            for offset in range(rounds):
                answer = self.client.quorum(replica_id=replica, timeout=timedelta(seconds=20), address=f"addr-{replica}",
                                            store_address="store", step=step + offset, world_size=1, shrink_only=False)
                if len(answer.participants) == len(ids):
                    return answer, offset
                time.sleep(0.2)  # a training step between two quorums
            raise AssertionError(f"{replica} never in a quorum of {len(ids)}")
        with ThreadPoolExecutor(len(ids)) as pool:
            return list(pool.map(converge, ids))

    def member_ids(self):
        return {member["id"] for member in self.server.members(RUN)}

    def test_1_three_groups_form_one_quorum_and_the_id_stays_while_membership_does(self):
        ids = [replica_id("alpha/0", "m-a0", 0), replica_id("alpha/1", "m-a1", 1), replica_id("beta/0", "m-b0", 2)]
        beater = Beater(self.client, ids)
        try:
            first = self.ask_all(ids, step=1)
            self.assertEqual({answer.quorum_id for answer in first}, {first[0].quorum_id}, "every group gets the same quorum")
            participants = [member.replica_id for member in first[0].participants]
            self.assertEqual(participants, sorted(ids), "participants are every group, sorted by replica id")
            self.assertEqual([member.address for member in first[0].participants], [f"addr-{r}" for r in sorted(ids)])
            self.assertEqual({member.step for member in first[0].participants}, {1})
            second = self.ask_all(ids, step=2)
            self.assertEqual(second[0].quorum_id, first[0].quorum_id, "the same members keep the quorum id")
            members = {member["id"]: member for member in self.server.members(RUN)}
            self.assertEqual(set(members), {"m-a0", "m-a1", "m-b0"})
            self.assertEqual(members["m-b0"]["slot"], "beta/0")
            self.assertEqual(members["m-b0"]["outerStep"], 2)
            self.assertEqual(members["m-b0"]["state"], "training")
            # A group restarted (torchft appends a new UUID per process) changes the membership: the id advances.
            ids[2] = replica_id("beta/0", "m-b0", 2)
            beater.ids = set(ids)
            third = self.ask_all(ids, step=3)
            self.assertGreater(third[0].quorum_id, second[0].quorum_id)
        finally:
            beater.stop()

    def test_2_two_groups_form_a_quorum_without_the_silent_third_after_the_join_timeout(self):
        ids = [replica_id("alpha/0", "m-2a", 0), replica_id("alpha/1", "m-2b", 1)]
        beater = Beater(self.client, ids)
        try:
            answers = self.ask_all(ids, step=5)
            self.assertEqual(sorted(member.replica_id for member in answers[0].participants), sorted(ids))
        finally:
            beater.stop()

    def test_3_a_silent_group_is_evicted_and_a_new_one_joins_at_the_next_quorum(self):
        ids = [replica_id("alpha/0", "m-3a", 0), replica_id("alpha/1", "m-3b", 1), replica_id("beta/0", "m-3c", 2)]
        beater = Beater(self.client, ids)
        try:
            # beta/0 was not in the last quorum: it may start a round late, and is in the next one.
            together = self.ask_until_together(ids, step=7)
            self.assertLessEqual(max(offset for _, offset in together), 1)
            first = [answer for answer, _ in together]
            self.assertEqual(len(first[0].participants), 3)
            self.assertTrue(wait_for(lambda: {"m-3a", "m-3b", "m-3c"} <= self.member_ids(), 5))
            beater.ids.discard(ids[2])
            silent_since = time.time()
            evicted = wait_for(lambda: "m-3c" not in self.member_ids(), 15)
            self.assertTrue(evicted, "the silent group is evicted")
            print(f"\n  silent replica group evicted {time.time() - silent_since:.1f} s after its last heartbeat (timeout 2 s)")
            kinds = [(event["kind"], event["message"]) for event in self.server.events(RUN)]
            self.assertTrue(any("member m-3c of beta/0 lost: no heartbeat" in message for _, message in kinds), kinds[-5:])
            # Lost and its slot relaunched: if it comes back it is refused, not registered again.
            lost = ids[2]
            for call in (lambda: self.client.heartbeat(lost, timeout=timedelta(seconds=5)),
                         lambda: self.client.quorum(replica_id=lost, timeout=timedelta(seconds=5), step=8, world_size=1)):
                with self.assertRaises(Exception) as refused:
                    call()
                self.assertIn("replica group m-3c of beta/0 was replaced", str(refused.exception))
            self.assertNotIn("m-3c", self.member_ids())
            # Its replacement (a new member in the slot) joins at the next quorum the others ask for.
            ids[2] = replica_id("beta/0", "m-3d", 2)
            beater.ids.add(ids[2])
            self.assertTrue(wait_for(lambda: "m-3d" in self.member_ids(), 5), "its heartbeats register the replacement")
            with ThreadPoolExecutor(1) as pool:
                joiner = pool.submit(self.ask_all, [ids[2]], 8)
                rounds = 0
                while not joiner.done() and rounds < 5:
                    self.ask_all(ids[:2], step=8 + rounds)
                    rounds += 1
                    time.sleep(0.2)  # a training step between two quorums
                second = joiner.result(timeout=20)
            self.assertLessEqual(rounds, 2, "the replacement is in a quorum within two rounds")
            self.assertEqual(sorted(member.replica_id for member in second[0].participants), sorted(ids))
            self.assertNotEqual(second[0].quorum_id, first[0].quorum_id)
        finally:
            beater.stop()

    def test_4_ids_of_another_run_an_unknown_slot_or_a_malformed_id_are_refused(self):
        cases = {
            "nope/alpha/0/m-x/0:u": "no run nope",
            "native/alpha/0/m-x/0:u": "not managed through torchft",
            f"{RUN}/alpha/9/m-x/0:u": "has no slot alpha/9",
            f"{RUN}/alpha/1/m-x/0:u": "is replica group 1",
            "train_ddp_0:u": "is not RUN/SITE/INDEX/MEMBER/GLOBAL",
        }
        for replica, message in cases.items():
            with self.subTest(replica=replica):
                with self.assertRaises(Exception) as heartbeat:
                    self.client.heartbeat(replica, timeout=timedelta(seconds=5))
                self.assertIn(message, str(heartbeat.exception))
                with self.assertRaises(Exception) as quorum:
                    self.client.quorum(replica_id=replica, timeout=timedelta(seconds=5), step=0, world_size=1)
                self.assertIn(message, str(quorum.exception))
        self.assertFalse({"m-x"} & self.member_ids(), "a refused id registers nothing")

    def test_5_a_manager_server_heartbeats_and_asks_for_quorums_as_a_training_process_does(self):
        servers = []
        try:
            for slot, member, index in (("alpha/0", "m-5a", 0), ("alpha/1", "m-5b", 1)):
                servers.append(ManagerServer(replica_id=replica_id(slot, member, index), lighthouse_addr=self.server.lighthouse,
                                             hostname="127.0.0.1", bind="127.0.0.1:0", store_addr="127.0.0.1:1", world_size=1,
                                             heartbeat_interval=timedelta(milliseconds=100), connect_timeout=timedelta(seconds=5),
                                             quorum_retries=0))
            self.assertTrue(wait_for(lambda: {"m-5a", "m-5b"} <= self.member_ids(), 10), "the managers' heartbeats register them")
            clients = [ManagerClient(server.address(), connect_timeout=timedelta(seconds=5)) for server in servers]

            def ask(client):
                return client._quorum(group_rank=0, step=0, checkpoint_metadata="", shrink_only=False,
                                      timeout=timedelta(seconds=20), commit_failures=0, init_sync=True)
            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(ask, clients))
            self.assertEqual({result.replica_world_size for result in results}, {2})
            self.assertEqual(sorted(result.replica_rank for result in results), [0, 1])
            self.assertEqual(results[0].quorum_id, results[1].quorum_id)
        finally:
            for server in servers:
                server.shutdown()


if __name__ == "__main__":
    unittest.main()
