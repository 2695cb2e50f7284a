"""The web console in a real browser (Chromium), against a live `intermesh up specs/local.yaml`."""
import json
import os
import re
import signal
import unittest

from browser import chromium, fetch, screenshot, wait
from harness import Up, wait_for
from selenium.webdriver.common.by import By

RUN = "local-demo"
SLOTS = ("alpha/0", "beta/0", "gamma/0")

# Every health a slot's cell ever shows, as the page draws it: a change lasting one view is not missed between polls.
RECORD_HEALTH = """
window.seenHealth = window.seenHealth || {};
const record = () => document.querySelectorAll('.slot').forEach((cell) => {
  const seen = window.seenHealth[cell.dataset.slot] = window.seenHealth[cell.dataset.slot] || [];
  if (seen[seen.length - 1] !== cell.dataset.health) seen.push(cell.dataset.health);
});
if (!window.healthObserver) {
  window.healthObserver = new MutationObserver(record);
  window.healthObserver.observe(document.getElementById('main'), {subtree: true, childList: true, attributes: true});
}
record();
"""

POINTS = "const chart = document.getElementById(arguments[0]); return chart ? Number(chart.dataset.points) : 0;"


class ConsoleTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = Up("specs/local.yaml")
        cls.driver = chromium()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.up.close()

    def output(self):
        return self.up.output()[-3000:]

    def open_run(self):
        self.driver.get(self.up.url + f"/#/runs/{RUN}")
        self.assertTrue(wait(self.driver, "return document.querySelectorAll('#mesh .slot').length", 30), "the run page draws its mesh")

    def test_console(self):
        driver, up = self.driver, self.up
        link = wait_for(lambda: re.search(r"console at (https://\S+)/ \(sign in once, within 10 minutes, with (\S+)\)", up.output()), 30)
        self.assertTrue(link, "up prints the console's URL with a one-time sign-in link\n" + self.output())
        self.assertEqual(link.group(1), up.url)

        # Not signed in: the sign-in page; the API answers 401 to the page.
        driver.get(up.url + "/")
        self.assertTrue(wait(driver, "return document.body.dataset.page === 'sign-in'", 15), "the console asks to sign in")
        screenshot(driver, "sign-in")

        # The one-time link signs the local admin in, once.
        driver.get(link.group(2))
        self.assertTrue(wait(driver, "return document.querySelector('#runs tr[data-run]')", 30), "the runs page lists the run")
        cookies = {cookie["name"]: cookie for cookie in driver.get_cookies()}
        self.assertTrue(cookies["intermesh_session"]["httpOnly"], "the session cookie is HttpOnly")
        self.assertEqual(cookies["intermesh_session"]["sameSite"], "Strict")
        self.assertTrue(cookies["intermesh_session"]["secure"], "the session cookie is Secure over TLS")
        self.assertIsNone(driver.execute_script("return document.cookie.match(/intermesh_session/)"), "the page cannot read the token")
        row = driver.find_element(By.CSS_SELECTOR, f'#runs tr[data-run="{RUN}"]').text
        self.assertIn("running", row)
        self.assertTrue(wait(driver, f"return document.querySelector('#runs tr[data-run=\"{RUN}\"]').textContent.includes('3 of 3')", 60),
                        "the runs page shows 3 of 3 replicas live\n" + self.output())
        screenshot(driver, "runs")

        # The run page: 3 sites, each replica live with its member.
        self.open_run()
        self.assertEqual(sorted(element.get_attribute("data-site") for element in driver.find_elements(By.CSS_SELECTOR, "#mesh .site")),
                         ["alpha", "beta", "gamma"])
        live = "return arguments[0].every((slot) => document.querySelector(`.slot[data-slot=\"${slot}\"]`)?.dataset.health === 'live')"
        self.assertTrue(wait(driver, live, 90, list(SLOTS)), "every slot turns live\n" + self.output())
        for slot in SLOTS:
            cell = driver.find_element(By.CSS_SELECTOR, f'.slot[data-slot="{slot}"]')
            self.assertIn("inc 1", cell.text)
        # Each site says how its link measured against what it declares.
        links = driver.find_elements(By.CSS_SELECTOR, "#mesh .site .link")
        self.assertEqual(len(links), 3)
        self.assertTrue(all("declared" in link.text for link in links), [link.text for link in links])

        # Charts fill as outer steps pass, without a reload.
        self.assertTrue(wait(driver, POINTS, 120, "loss-chart"), "the loss chart gets its first points\n" + self.output())
        driver.execute_script("window.sameDocument = true")
        before = driver.execute_script(POINTS, "loss-chart")
        self.assertTrue(wait(driver, f"return Number(document.getElementById('loss-chart').dataset.points) > {before}", 120),
                        "the loss chart gains points")
        self.assertTrue(wait(driver, POINTS, 60, "quorum-chart"), "the quorum chart has points")
        self.assertTrue(wait(driver, POINTS, 60, "eval-chart"), "the evaluation chart has points per source")
        sources = {element.get_attribute("data-series") for element in driver.find_elements(By.CSS_SELECTOR, "#eval-chart polyline")}
        self.assertEqual(sources, {"prose", "code", "arithmetic"})
        screenshot(driver, "run")

        # A replica killed mid-run turns lost and comes back as a new incarnation, on the page, without a reload.
        driver.execute_script(RECORD_HEALTH)
        victim = [record for record in up.agent_replicas("gamma") if record["slot"] == "gamma/0"][0]
        os.kill(victim["pid"], signal.SIGKILL)
        print(f"\n  killed gamma/0 (member {victim['member']})")
        self.assertTrue(wait(driver, "return (window.seenHealth['gamma/0'] || []).includes('lost')", 60),
                        "gamma/0 shows lost\n" + self.output())
        screenshot(driver, "run-replica-lost")
        back = "const cell = document.querySelector('.slot[data-slot=\"gamma/0\"]'); return cell.dataset.health === 'live' && cell.textContent.includes('inc 2')"
        self.assertTrue(wait(driver, back, 120), "gamma/0 comes back as incarnation 2\n" + self.output())
        self.assertTrue(driver.execute_script("return window.sameDocument === true"), "no reload happened")
        seen = driver.execute_script("return window.seenHealth['gamma/0']")
        print(f"  gamma/0 on the page: {seen}")

        # A hot apply shows in the rollout panel and in the history with its field diff.
        path = os.path.join(up.directory, "hot.yaml")
        with open("specs/local.yaml") as source, open(path, "w") as target:
            target.write(source.read().replace("      lr: 0.7\n", "      lr: 0.6\n"))
        code, output = up.cli("apply", "-f", path)
        self.assertEqual(code, 0, output)
        self.assertTrue(wait(driver, "return document.querySelector('#rollout-line')?.textContent.includes('Revision 2')", 30),
                        "the rollout panel shows revision 2")
        changed = "#history .revision[data-revision=\"2\"] tr[data-path=\"spec.training.outerOptimizer.lr\"]"
        self.assertTrue(wait(driver, f"return document.querySelector('{changed}')", 30), "the history shows revision 2's diff")
        row = driver.find_element(By.CSS_SELECTOR, changed).text
        self.assertIn("hot", row)
        self.assertIn("0.7 → 0.6", row)
        self.assertTrue(wait(driver, "return document.getElementById('rollout-phase')?.textContent === 'complete'", 120),
                        "the hot rollout completes\n" + self.output())
        screenshot(driver, "run-rollout-history")

        # Events are live and filterable.
        self.assertTrue(wait(driver, "return document.querySelector('#event-rows tr[data-kind=\"Exited\"]')", 30), "the exit is in the events")
        filter_box = driver.find_element(By.ID, "event-filter")
        filter_box.send_keys("gamma/0")
        kinds = {row.get_attribute("data-kind") for row in driver.find_elements(By.CSS_SELECTOR, "#event-rows tr")}
        self.assertTrue(kinds and all(row.text.find("gamma/0") >= 0 for row in driver.find_elements(By.CSS_SELECTOR, "#event-rows tr")))
        filter_box.clear()

        # Actions ask first: pausing rollouts shows in the panel; cancelling the dialog does nothing.
        driver.find_element(By.CSS_SELECTOR, 'button[data-action="stop-run"]').click()
        self.assertTrue(wait(driver, "return document.getElementById('confirm').open", 5), "stopping asks for confirmation")
        screenshot(driver, "run-confirm-stop")
        driver.find_element(By.ID, "confirm-cancel").click()
        driver.find_element(By.CSS_SELECTOR, 'button[data-action="pause-rollouts"]').click()
        self.assertTrue(wait(driver, "return document.getElementById('confirm').open", 5))
        driver.find_element(By.ID, "confirm-ok").click()
        self.assertTrue(wait(driver, "return document.querySelector('button[data-action=\"resume-rollouts\"]')", 15), "rollouts are paused")
        self.assertTrue(up.get(f"/v1/runs/{RUN}/rollout")["paused"])
        self.assertEqual(up.get(f"/v1/runs/{RUN}")["phase"], "running", "the cancelled stop did nothing")
        driver.find_element(By.CSS_SELECTOR, 'button[data-action="resume-rollouts"]').click()
        self.assertTrue(wait(driver, "return document.getElementById('confirm').open", 5))
        driver.find_element(By.ID, "confirm-ok").click()
        self.assertTrue(wait(driver, "return document.querySelector('button[data-action=\"pause-rollouts\"]')", 15), "rollouts go on")

        # A write with the session cookie but without the page's CSRF header (what another site can make a browser
        # send) is refused, and changes nothing.
        forged = fetch(driver, f"/v1/runs/{RUN}/stop", "POST", csrf=False)
        self.assertEqual(forged["status"], 403, forged)
        self.assertIn("cross-site", json.loads(forged["body"])["error"]["message"])

        # A viewer signs in with the form: no action buttons, and a forged action with its cookie gets 403.
        code, token = up.cli("token", "create", "--role", "viewer", "--description", "console test")
        self.assertEqual(code, 0, token)
        driver.delete_all_cookies()
        driver.get(up.url + "/")
        self.assertTrue(wait(driver, "return document.body.dataset.page === 'sign-in'", 15))
        viewer_token = re.search(r"imt_\w+", token).group(0)
        driver.find_element(By.ID, "token").send_keys(viewer_token)
        driver.find_element(By.ID, "sign-in").click()
        self.assertTrue(wait(driver, "return document.querySelector('#runs tr[data-run]')", 30),
                        f"the viewer sees the runs: {driver.current_url}: {driver.page_source[:500]}")
        self.assertIn("viewer", driver.find_element(By.ID, "who").text)
        self.open_run()
        self.assertTrue(wait(driver, "return document.querySelector('#summary .facts')", 30))
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "#actions, #summary button"), [], "a viewer sees no action buttons")
        screenshot(driver, "run-viewer")
        for action in ("stop", "rollout/pause", "rollout/undo"):
            forged = fetch(driver, f"/v1/runs/{RUN}/{action}", "POST")
            self.assertEqual(forged["status"], 403, f"{action}: {forged}")
        self.assertEqual(up.get(f"/v1/runs/{RUN}")["phase"], "running")
        self.assertEqual(up.get(f"/v1/runs/{RUN}")["activeRevision"], 2)

        # A used one-time link does not sign in again.
        driver.delete_all_cookies()
        driver.get(link.group(2))
        self.assertTrue(wait(driver, "return document.getElementById('sign-in-error')", 15), "a used link is refused")


if __name__ == "__main__":
    unittest.main()
