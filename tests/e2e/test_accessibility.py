"""Every page of the clinician journey, the researchers' report pages and the admin setup pages, checked with
axe-core (WCAG 2.0/2.1/2.2 A and AA rules) in headless Chromium; then the rating form with the keyboard only.

axe-core is the pinned npm package in tests/e2e/package.json; its axe.min.js is injected into each page.
A test fails on any violation and prints each one with the elements it was found on.
"""
import re

import pytest
from django.urls import reverse

from annotation.models import Assignment, AssignmentStatus, PreferenceAssignment, StudyRater
from annotation.services.assignments import assignment_plan_for_study
from annotation.services.ratings import preference_submit, rating_submit
from tests import factories
from tests.annotation.rating_helpers import build_rating_study, full_rating
from tests.e2e.conftest import ARTIFACTS, ROOT, log_in, wait_for_rating_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
UPLOAD = ROOT / "tests" / "data" / "uploads" / "valid.csv"


class Axe:
    """Runs axe on pages and keeps every page's violations, so that one failure shows them all."""

    def __init__(self, source):
        self.source = source
        self.checked: dict[str, list] = {}

    def check(self, page, name, *, open_details=False):
        if open_details:  # the tables folded away in <details> are checked too
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=self.source)
        violations = page.evaluate(
            """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
                 .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                   nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                             html: n.html.slice(0, 200)}))})))""",
            AXE_TAGS,
        )
        self.checked[name] = violations
        ARTIFACTS.mkdir(exist_ok=True)
        tall = page.evaluate("document.documentElement.scrollHeight") > 5000  # the reports: the top is enough
        page.screenshot(path=str(ARTIFACTS / f"axe-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"),
                        full_page=not tall)
        return violations

    def report(self) -> str:
        lines = []
        for name, violations in self.checked.items():
            lines.append(f"{name}: {len(violations)} violation{'s' if len(violations) != 1 else ''}")
            for v in violations:
                lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['url']})")
                for node in v["nodes"][:8]:
                    lines.append(f"      at {node['target']}: {node['html']}")
                    for line in (node["summary"] or "").splitlines():
                        lines.append(f"        {line}")
        return "\n".join(lines)

    def assert_clean(self):
        print(self.report())
        if any(self.checked.values()):
            pytest.fail("axe-core found accessibility violations:\n" + self.report(), pytrace=False)


def new_page(browser, **kw):
    # The inline HTML report forbids every script (CSP): the checker's own script is let in.
    context = browser.new_context(bypass_csp=True, viewport=kw.pop("viewport", {"width": 1280, "height": 900}))
    return context.new_page()


def task_url(live_server, task):
    return live_server.url + reverse("annotation:rate_task", kwargs={"code": task.code})


def test_the_clinician_journey_has_no_axe_violations(live_server, browser, axe_source):
    rs = build_rating_study(n_cases=1, n_raters=2)
    me = rs.raters[0]
    # A second study in side-by-side mode with the same clinician among its raters.
    side_by_side = build_rating_study(n_cases=1, n_raters=1, preference_mode=True, plan=False)
    StudyRater.objects.create(study=side_by_side.study, rater=me)
    assignment_plan_for_study(study=side_by_side.study)
    axe = Axe(axe_source)
    page = new_page(browser)
    log_in(page, live_server, me.username)
    page.goto(live_server.url + reverse("annotation:rater_home"))
    axe.check(page, "Rater home")

    tasks = list(Assignment.objects.filter(rater=me).order_by("position"))
    page.goto(task_url(live_server, tasks[0]))
    wait_for_rating_form(page)
    axe.check(page, "Rating form, before answering")

    # Submitting with nothing answered: the page's own summary lists every question, each a link.
    page.click("#submit-button")
    page.wait_for_selector("#error-summary a[data-error-link]")
    links = page.locator("#error-summary a[data-error-link]")
    steps = page.locator("#rate-form [data-step]").count()
    assert links.count() == steps
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert links.first.get_attribute("href") == "#q-v__safety"
    axe.check(page, "Rating form, error summary (in the page)")

    # The server's answer to an incomplete form (what a page without script gets): the same list.
    page.evaluate("document.querySelector('input[value=\"compliant\"]').checked = true;"
                  "document.getElementById('rate-form').submit()")
    page.wait_for_selector("#error-summary")
    server_links = page.locator("#error-summary a[data-error-link]").all_inner_texts()
    assert [t.split(":")[0] for t in server_links] == ["Your confidence", "Reasoning quality"], server_links
    assert page.evaluate("document.activeElement.id") == "error-summary"
    axe.check(page, "Rating form, error summary (from the server)")

    page.goto(task_url(live_server, tasks[0]))
    wait_for_rating_form(page)
    page.keyboard.press("1")  # focus lands in the form
    for key in ("3", "4", "2"):
        page.keyboard.press(key)
    page.check("#is_dangerous")
    page.fill("#dangerous_rationale", "Advises stopping anticoagulation without review.")
    page.fill("#comment", "Clear otherwise.")
    axe.check(page, "Rating form, answered")
    page.click("#submit-button")
    page.wait_for_url(lambda url: "rate/i/" in url and tasks[0].code not in url)

    preference = PreferenceAssignment.objects.filter(rater=me).order_by("position").first()
    page.goto(task_url(live_server, preference))
    wait_for_rating_form(page)
    axe.check(page, "Side-by-side preference")
    page.click("#submit-button")
    page.wait_for_selector("#error-summary a[data-error-link]")
    axe.check(page, "Side-by-side preference, error summary")

    enrolment = StudyRater.objects.get(study=rs.study, rater=me)
    page.goto(live_server.url + reverse("annotation:rater_home"))
    history = reverse("annotation:rate_history", kwargs={"code": enrolment.code})
    assert page.locator(f"a[href='{history}']").count() == 1
    page.goto(live_server.url + history)
    axe.check(page, "History")

    for task in Assignment.objects.filter(rater=me).exclude(status=AssignmentStatus.SUBMITTED):
        rating_submit(assignment=task, rater=me, values=full_rating())
    for task in PreferenceAssignment.objects.filter(rater=me).exclude(status=AssignmentStatus.SUBMITTED):
        preference_submit(assignment=task, rater=me, side="left", confidence="high")
    page.goto(live_server.url + reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    page.wait_for_selector("text=All done")
    axe.check(page, "Done")
    page.context.close()
    axe.assert_clean()


def test_the_report_pages_and_the_downloaded_report_have_no_axe_violations(live_server, browser, axe_source,
                                                                         settings, tmp_path):
    from agreement.services import report_generate
    from demo.services import demo_load

    settings.MEDIA_ROOT = tmp_path
    study = demo_load().study  # clinicians' ratings and triage answers: heatmaps, forest and reliability plots
    # A judge's scores too, for the persona-ranking plots.
    study.judge = factories.ModelSpecFactory(judge=True)
    study.save(update_fields=["judge"])
    for n, response in enumerate(study.responses.order_by("pk")):
        factories.JudgeScoreFactory(response=response, judge=study.judge, values={
            "safety": {"value": ("compliant", "partially_compliant", "not_compliant")[n % 3], "confidence": "high"},
            "reasoning": {"value": str(1 + n % 5), "confidence": "medium"}})
    researcher = factories.study_member(study, factories.researcher(), role="researcher")
    html = report_generate(study=study, format="html", parameters={"n_boot": 20})
    axe = Axe(axe_source)
    page = new_page(browser)
    log_in(page, live_server, researcher.username)

    page.goto(live_server.url + reverse("agreement:report_list"))
    axe.check(page, "Report list")
    page.goto(live_server.url + reverse("agreement:study_report", args=[study.pk]))
    assert page.locator("figure.plot svg[role=img]").count() >= 6
    assert page.locator("svg[aria-labelledby$='-rank-caption']").count() >= 1
    assert page.locator("svg[aria-labelledby='fig-reliability-caption']").count() == 1
    for chart in page.locator("figure.plot svg").all():
        caption = chart.get_attribute("aria-labelledby")
        assert caption and page.locator(f"#{caption}").count() == 1, caption
        assert chart.evaluate("svg => [...svg.querySelectorAll('text')].every(t => t.closest('[aria-hidden=true]'))")
        assert chart.evaluate("svg => Math.min(...[...svg.querySelectorAll('text')].map("
                              "t => parseFloat(t.style.fontSize)))") >= 11
    axe.check(page, "Study report page", open_details=True)

    download = page.request.get(live_server.url + reverse("agreement:report_download", args=[html.pk]))
    assert download.ok and "attachment" in download.headers["content-disposition"]
    page.set_content(download.text())
    axe.check(page, "Downloaded HTML report")  # its folded tables: the same markup, checked opened above
    # "Open" serves the same file inline.
    page.goto(live_server.url + reverse("agreement:report_view", args=[html.pk]))
    assert page.locator("figure.plot svg[role=img]").count() == page.locator("figcaption[id]").count() >= 3
    page.context.close()
    axe.assert_clean()


def test_the_admin_setup_pages_have_no_axe_violations(live_server, browser, axe_source):
    rs = build_rating_study(n_cases=2, n_raters=2)
    admin = factories.study_owner(rs.study)
    persona = rs.personas[0]
    model = rs.study.model_specs.first()
    axe = Axe(axe_source)
    page = new_page(browser)
    log_in(page, live_server, admin.username)

    pages = [
        ("Study list", reverse("studies:study_list")),
        ("Study detail", reverse("studies:study_detail", args=[rs.study.pk])),
        ("Study form (new)", reverse("studies:study_create")),
        ("Study form (edit)", reverse("studies:study_edit", args=[rs.study.pk])),
        ("Study import", reverse("studies:study_import")),
        ("Case-set list", reverse("studies:case_set_list")),
        ("Case-set detail", reverse("studies:case_set_detail", args=[rs.cases[0].case_set.pk])),
        ("Persona list", reverse("studies:persona_list")),
        ("Persona detail", reverse("studies:persona_detail", args=[persona.pk])),
        ("Persona form (new)", reverse("studies:persona_create")),
        ("Persona form (edit)", reverse("studies:persona_edit", args=[persona.pk])),
        ("Model list", reverse("studies:model_spec_list")),
        ("Model detail", reverse("studies:model_spec_detail", args=[model.pk])),
        ("Model form (new)", reverse("studies:model_spec_create")),
        ("Judge form (new)", reverse("studies:judge_create")),
        ("Model form (edit)", reverse("studies:model_spec_edit", args=[model.pk])),
        ("Try one prompt", reverse("inference:model_spec_try", args=[model.pk])),
        ("Responses import", reverse("inference:responses_upload", args=[rs.study.pk])),
        ("Study dashboard", reverse("annotation:study_dashboard", args=[rs.study.pk])),
        ("Flags queue", reverse("annotation:study_flags", args=[rs.study.pk])),
        ("Clinicians", reverse("annotation:study_raters", args=[rs.study.pk])),
        ("Safety alerts", reverse("annotation:study_alerts", args=[rs.study.pk])),
        ("Password change", reverse("password_change")),
    ]
    for name, url in pages:
        page.goto(live_server.url + url)
        axe.check(page, name)

    # Help text is tied to its field (the id Django's widgets point at) on every form page.
    for url in (reverse("studies:study_create"), reverse("studies:persona_create"),
                reverse("studies:case_set_upload"), reverse("studies:persona_detail", args=[persona.pk]),
                reverse("studies:model_spec_create"), reverse("inference:model_spec_try", args=[model.pk]),
                reverse("inference:responses_upload", args=[rs.study.pk])):
        page.goto(live_server.url + url)
        described = page.evaluate("""() => [...document.querySelectorAll('[aria-describedby]')]
            .flatMap(el => el.getAttribute('aria-describedby').split(' '))
            .filter(id => id.endsWith('_helptext'))""")
        assert described, url
        for id_ in described:
            assert page.locator(f"[id='{id_}']").count() == 1, (url, id_)

    # Upload: the checked file's result takes the focus; so does the import's result on the case-set page.
    page.goto(live_server.url + reverse("studies:case_set_upload"))
    axe.check(page, "Case-set upload")
    page.set_input_files("#id_file", str(UPLOAD))
    page.fill("#id_name", "Accessible cases")
    page.click("button:has-text('Check the file')")
    page.wait_for_selector("#upload-result")
    assert page.evaluate("document.activeElement.id") == "upload-result"
    axe.check(page, "Case-set upload, preview")
    page.click("#upload-result button[type=submit]")
    page.wait_for_selector("#upload-result")
    assert "/case-sets/" in page.url and page.evaluate("document.activeElement.id") == "upload-result"
    assert page.locator("#upload-result[role=status]").inner_text().strip()
    axe.check(page, "Case-set detail after an import")
    page.context.close()
    axe.assert_clean()


def test_shortcuts_act_only_in_the_form_and_can_be_turned_off(live_server, browser):
    """The clinician journey with the keyboard only: single keys do nothing from a link, the switch turns them
    off (kept after a reload), D only goes to the dangerous flag, and the error summary's links lead back."""
    rs = build_rating_study(n_cases=1, n_raters=2)
    me = rs.raters[0]
    page = new_page(browser, viewport={"width": 820, "height": 1180})
    log_in(page, live_server, me.username)
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Start rating":
            break
    else:
        pytest.fail("could not reach the start link with Tab")
    page.keyboard.press("Enter")
    wait_for_rating_form(page)
    form_url = page.url

    def state():
        return page.evaluate("""() => ({
            checked: [...document.querySelectorAll('#rate-form input:checked, #flag-panel input:checked')]
                .map(i => i.id),
            flagOpen: document.getElementById('flag-panel').open,
            rationaleShown: !document.querySelector('[data-rationale]').hidden,
            active: document.activeElement.id || document.activeElement.textContent.trim(),
            collapsed: document.getElementById('shortcuts').classList.contains('collapsed'),
        })""")

    def tab_to(predicate_js, limit=60, backwards=False):
        for _ in range(limit):
            page.keyboard.press("Shift+Tab" if backwards else "Tab")
            if page.evaluate(predicate_js):
                return
        pytest.fail(f"could not reach {predicate_js} with Tab")

    # Focus on the "My ratings" link above the form: no single key acts.
    tab_to("document.activeElement.tagName === 'A' && document.activeElement.textContent.trim() === 'My ratings'"
           " && !!document.activeElement.closest('.rate-top')")
    before = state()
    assert before["checked"] == [] and before["active"] == "My ratings"
    # The focus ring: a dark outline around a white halo (each over 3:1 where the other is not).
    ring = page.evaluate("(s => [s.outlineColor, s.outlineWidth, s.boxShadow])"
                         "(getComputedStyle(document.activeElement))")
    assert ring[0] == "rgb(11, 26, 51)" and ring[1] == "3px" and "rgb(255, 255, 255)" in ring[2], ring
    for key in ("d", "x", "c", "f", "1", "D", "?"):
        page.keyboard.press(key)
    assert state() == before

    # Turn the shortcuts off with the switch (Space), then check that nothing acts even from the page body.
    tab_to("document.activeElement.id === 'shortcuts-toggle'")
    page.keyboard.press("Space")
    assert not page.is_checked("#shortcuts-toggle")
    assert page.evaluate("localStorage.getItem('persona-lab.rating-shortcuts')") == "off"
    assert page.get_attribute("#v__safety-0", "aria-keyshortcuts") is None
    for key in ("1", "d", "x"):
        page.keyboard.press(key)
    assert state()["checked"] == []
    page.reload()
    wait_for_rating_form(page)
    assert not page.is_checked("#shortcuts-toggle")  # kept in this browser
    for key in ("1", "3", "d"):
        page.keyboard.press(key)  # focus is on the page body: still nothing, the switch is off
    assert state()["checked"] == [] and page.evaluate("document.activeElement === document.body")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "shortcuts-off.png"), full_page=True)

    # On again; from the switch itself (outside the form) keys still do nothing.
    tab_to("document.activeElement.id === 'shortcuts-toggle'")
    page.keyboard.press("Space")
    assert page.is_checked("#shortcuts-toggle")
    assert page.get_attribute("#v__safety-0", "aria-keyshortcuts") == "1"
    page.keyboard.press("1")
    assert state()["checked"] == []

    # Enter with nothing answered: the summary takes focus and lists every question as a link.
    page.reload()
    wait_for_rating_form(page)
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary a[data-error-link]")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.url == form_url
    texts = page.locator("#error-summary a[data-error-link]").all_inner_texts()
    assert len(texts) == page.locator("#rate-form [data-step]").count() and texts[0].startswith("Safety")
    page.screenshot(path=str(ARTIFACTS / "error-summary.png"), full_page=True)
    page.keyboard.press("Tab", delay=0)
    page.keyboard.press("Tab")  # the second link: the confidence in the safety answer
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.closest('[data-step]').id") == "q-c__safety"

    # Answer with the number keys from the page: 1 goes to the first unanswered question again.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("4")
    page.keyboard.press("2")
    assert page.evaluate("document.activeElement.id") == "submit-button"
    assert page.locator("#error-summary a[data-error-link]").count() == 4  # unchanged until the next submit
    assert page.locator("[data-step][aria-invalid=true]").count() == 0

    # D goes to the dangerous flag without ticking it; Space ticks it; the rationale is asked for.
    page.keyboard.press("d")
    assert page.evaluate("document.activeElement.id") == "is_dangerous" and not page.is_checked("#is_dangerous")
    page.keyboard.press("Space")
    assert page.is_checked("#is_dangerous") and state()["rationaleShown"]
    page.keyboard.press("Enter")  # no rationale yet: the summary names it
    page.wait_for_selector("#error-summary a[href='#dangerous_rationale']")
    assert page.locator("#error-summary a[data-error-link]").count() == 1
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "dangerous_rationale"
    page.keyboard.type("Advises stopping anticoagulation without review.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != form_url)
    page.context.close()

    done = Assignment.objects.get(rater=me, status=AssignmentStatus.SUBMITTED)
    assert done.rating.is_dangerous and "anticoagulation" in done.rating.dangerous_rationale
    # Key 1 is the scale's first level: safety is ordered not compliant, partially, compliant.
    assert {v.dimension: v.value for v in done.rating.values.all()} == {"safety": "not_compliant", "reasoning": "4"}


def test_the_checker_reports_a_page_with_violations(browser, axe_source):
    """The checker itself: an unlabelled field on a page without a language is two violations, printed."""
    axe = Axe(axe_source)
    page = new_page(browser)
    page.set_content("<!doctype html><html><head><title>t</title></head><body><main><input type=text></main></body>"
                     "</html>")
    found = {v["id"] for v in axe.check(page, "Broken on purpose")}
    assert {"html-has-lang", "label"} <= found
    assert "[critical] label: Form elements must have labels" in axe.report()
    page.context.close()


def test_the_login_password_and_instructions_pages_have_no_axe_violations(live_server, browser, axe_source):
    rs = build_rating_study(n_cases=1, n_raters=1, plan=False, rater_title="Triage answers",
                            rater_instructions="Read the whole answer.\n\nThen rate it.", calibration_items=0)
    assignment_plan_for_study(study=rs.study)
    axe = Axe(axe_source)
    page = new_page(browser)
    for name, url in (("Log in", reverse("login")), ("Set a password", reverse("password_set"))):
        page.goto(live_server.url + url)
        axe.check(page, name)
    log_in(page, live_server, rs.raters[0].username)
    enrolment = StudyRater.objects.get(study=rs.study, rater=rs.raters[0])
    page.goto(live_server.url + reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    assert "Read the whole answer." in page.content()
    axe.check(page, "Instructions before the first item")
    page.context.close()
    axe.assert_clean()
