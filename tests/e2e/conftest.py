"""Browser-test fixtures: Debian's Chromium driven by Playwright's Python package (never a downloaded
browser), and axe-core from npm (tests/e2e/package.json, `npm ci` in tests/e2e) for the accessibility checks.
Both skip cleanly when missing, or fail under REQUIRE_SERVICES=1."""
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE_PATHS = [Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js",
             ROOT / "node_modules" / "axe-core" / "axe.min.js"]


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        skip_or_fail("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source():
    """axe.min.js of the pinned axe-core (installed by `npm ci` in tests/e2e)."""
    for path in AXE_PATHS:
        if path.exists():
            return path.read_text(encoding="utf-8")
    skip_or_fail("axe-core is not installed (cd tests/e2e && npm ci)")


def log_in(page, live_server, username):
    """Through the login page, with the keyboard, as a person would."""
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username:focus").wait_for()  # a selector: the page's CSP forbids evaluated JavaScript
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.wait_for_url(lambda url: "/login/" not in url)


def wait_for_rating_form(page):
    """The rating form, with its script run: the script marks the page (``html[data-shortcuts]``) in the same
    step as it starts listening for keys, so a key pressed after this is never lost to a slow load."""
    page.wait_for_selector("#rate-form")
    page.locator("html[data-shortcuts]").wait_for(state="attached")
