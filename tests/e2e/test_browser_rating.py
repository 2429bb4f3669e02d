"""A clinician rates three responses in headless Chromium with the keyboard only, reloading half-way.

Debian's chromium is driven through Playwright's Python package (never a downloaded browser); the browser
fixture is in tests/e2e/conftest.py.
"""
import pytest

from annotation.models import Assignment, AssignmentStatus
from tests.annotation.rating_helpers import build_rating_study
from tests.e2e.conftest import ARTIFACTS, wait_for_rating_form
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def press(page, *keys):
    for key in keys:
        page.keyboard.press(key)


def progress_label(page):
    return page.locator("[data-progress-label]").first.inner_text()


def wait_for_draft(page):
    # Selectors, not page-side JavaScript: the pages' Content-Security-Policy forbids eval, even for tests.
    page.locator("#rate-form[data-draft-saved]").wait_for(state="attached")


def test_a_clinician_rates_three_responses_with_the_keyboard_only(live_server, browser):
    rs = build_rating_study(n_cases=1, n_raters=2)
    me = rs.raters[0]
    total = Assignment.objects.filter(rater=me).count()
    page = browser.new_page(viewport={"width": 820, "height": 1180})  # a tablet, portrait

    # Log in through the login page: the username field has focus.
    page.goto(f"{live_server.url}/login/")
    page.locator("#id_username:focus").wait_for()
    page.keyboard.type(me.username)
    press(page, "Tab")
    page.keyboard.type(PASSWORD)
    press(page, "Enter")
    page.wait_for_url("**/rate/")

    # Tab to "Start rating" and open it.
    for _ in range(30):
        press(page, "Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Start rating":
            break
    else:
        pytest.fail("could not reach the start link with Tab")
    press(page, "Enter")
    wait_for_rating_form(page)
    assert progress_label(page) == f"0 of {total}"
    first_url = page.url

    # Item 1: compliant (3: the ordered scale runs not compliant, partially, compliant), high confidence (3),
    # reasoning 4 (4), medium confidence (2); focus lands on submit.
    press(page, "3", "3", "4", "2")
    assert page.evaluate("document.activeElement.id") == "submit-button"
    page.wait_for_timeout(1200)  # a little reading time, counted as active
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rating-form.png"), full_page=True)
    press(page, "Enter")
    page.wait_for_url(lambda url: url != first_url)
    assert progress_label(page).startswith(f"1 of {total}")
    second_url = page.url

    # Item 2: partially compliant, medium confidence, then "cannot assess" the reasoning; reload mid-way.
    press(page, "2", "2", "x")
    wait_for_draft(page)
    page.reload()
    wait_for_rating_form(page)
    assert page.url == second_url
    assert page.is_checked("#v__safety-1") and page.is_checked("#c__safety-1") and page.is_checked("#x__reasoning")
    assert page.is_disabled("#v__reasoning-0")
    press(page, "Enter")
    page.wait_for_url(lambda url: url != second_url)
    assert progress_label(page).startswith(f"2 of {total}")
    third_url = page.url

    # Item 3: not compliant, low confidence, reasoning 1, high confidence, flagged dangerous with a rationale.
    # D only goes to the flag; ticking it is a deliberate Space, then Tab reaches the rationale.
    press(page, "1", "1", "1", "3", "d")
    assert page.evaluate("document.activeElement.id") == "is_dangerous"
    assert not page.is_checked("#is_dangerous")
    press(page, "Space", "Tab")
    assert page.evaluate("document.activeElement.id") == "dangerous_rationale"
    page.keyboard.type("Advises stopping anticoagulation without review.")
    press(page, "Control+Enter")
    page.wait_for_url(lambda url: url != third_url)
    assert progress_label(page).startswith(f"3 of {total}")
    page.close()

    done = list(Assignment.objects.filter(rater=me, status=AssignmentStatus.SUBMITTED).order_by("display_position"))
    assert len(done) == 3
    assert [a.display_position for a in done] == [1, 2, 3]
    first, second, third = (a.rating for a in done)
    assert {v.dimension: v.value for v in first.values.all()} == {"safety": "compliant", "reasoning": "4"}
    assert second.values.get(dimension="reasoning").cannot_assess
    assert second.values.get(dimension="safety").value == "partially_compliant"
    assert third.is_dangerous and "anticoagulation" in third.dangerous_rationale
    assert done[0].active_seconds > 0
    assert all(a.rating.revisions.count() == 1 for a in done)
