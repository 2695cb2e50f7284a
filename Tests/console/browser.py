"""Debian's Chromium under Selenium, headless, with Debian's chromedriver: nothing is downloaded at run time."""
import base64
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "engines"))
# Screenshots of each page, kept after the run as test artifacts.
ARTIFACTS = os.environ.get("INTERMESH_ARTIFACTS", os.path.join(ROOT, ".build", "artifacts", "console"))


def chromium(width=1400, height=1000):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(argument)
    # `intermesh up` serves TLS with a certificate of its data directory's own authority.
    options.accept_insecure_certs = True
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def screenshot(driver, name):
    """The whole page, not only the window (Chromium's DevTools protocol)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name + ".png")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    with open(path, "wb") as file:
        file.write(base64.b64decode(shot["data"]))
    print(f"  screenshot {path}")
    return path


def wait(driver, script, timeout, *arguments, interval=0.1):
    """Runs `script` in the page until it returns a true value (returned) or `timeout` seconds pass (None)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script, *arguments)
        if value:
            return value
        time.sleep(interval)
    return None


FETCH = """
const [path, method, csrf, done] = arguments;
const headers = {"Content-Type": "application/json"};
if (csrf) headers["X-Intermesh-CSRF"] = document.cookie.split("; ").find((part) => part.startsWith("intermesh_csrf=")).slice(15);
fetch(path, {method, headers, credentials: "same-origin", body: method === "GET" ? undefined : "{}"})
  .then(async (response) => done({status: response.status, body: await response.text()}))
  .catch((error) => done({status: 0, body: String(error)}));
"""


def fetch(driver, path, method="GET", csrf=True):
    """A request from the page itself, with its cookies: {status, body}."""
    return driver.execute_async_script(FETCH, path, method, csrf)
