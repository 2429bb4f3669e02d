"""Blinding audit: everything a clinician can reach, pages, API, redirects and error pages, carries no
persona, role, style, model, sample index, generation setting or sequential database id.

The study has three personas (one of them the baseline), two models and two samples per cell, with
distinctive names, prompts and sampling values, so that any leak shows up as a plain string match.
Structural checks catch what a string search cannot: numeric ids in URLs, data attributes and JSON.
"""
import json
import re
from hashlib import sha256
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.blinding import _RULES, blinded_item, render_markdown, response_text_for_raters, study_texts_render
from annotation.models import Assignment, AssignmentStatus, Comparison, PreferenceAssignment, StudyRater
from studies.models import Response, StudyStatus
from studies.services.studies import study_transition
from tests import factories
from tests.annotation.rating_helpers import MODELS, PERSONAS, build_rating_study, form_data, full_rating

pytestmark = pytest.mark.django_db

LEAK_PHRASE = "As a quasar emergency physician, I"
HIDDEN_MARKER = "HIDDEN-RESPONSE-7f3a"
STYLE_WORDS = ["plain", "cautious", "bold"]
FIELD_WORDS = ["sample_index", "model_path", "system_prompt", "prompt_messages", "rendered_prompt", "persona_id",
               "model_id", "response_id", "temperature", "top_p", "max_tokens", "is_baseline", "leaks_persona",
               "leak_spans", "sampling", "interaction style"]
# Keys an API answer to a clinician may hold, and those of them that may be whole numbers.
ALLOWED_KEYS = {
    "code", "kind", "status", "position", "study", "study_name", "submitted_at", "is_open", "progress", "next",
    "done", "total", "seconds_left", "label", "schema", "dimensions", "confidence_levels", "comment", "key",
    "cannot_assess", "confidence", "choices", "value", "draft", "submitted", "revision", "case", "vignette_html",
    "question_html", "response_html", "left_html", "right_html", "sides", "values", "is_dangerous",
    "dangerous_rationale", "saved_at", "message", "extra", "fields", "count", "previous", "results", "side",
    "reason", "safety", "reasoning", "active_seconds", "is_calibration", "response_truncated", "left_truncated",
    "right_truncated",
}
INTEGER_KEYS = {"position", "done", "total", "revision", "count"}
# (tag, attribute) pairs whose value may be a plain number: form choices, shortcut keys, progress, sizes.
NUMERIC_ATTRIBUTES = {("input", "value"), ("input", "data-key"), ("input", "aria-keyshortcuts"),
                      ("progress", "max"), ("progress", "value"), ("textarea", "rows"), ("ol", "start")}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data-draft-url"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def _numeric_path_parts(url: str) -> list[str]:
    path, _, query = url.partition("?")
    parts = [p for p in re.split(r"[/=&]", path + "&" + query) if p]
    return [p for p in parts if p.isdigit()]


class Audit:
    def __init__(self, rs, extra_secrets):
        self.secrets = set(extra_secrets)
        for p in PERSONAS:
            self.secrets |= {p["name"], p["slug"], p["system_prompt_template"].format(role=p["role"])}
            if p["role"]:
                self.secrets.add(p["role"])
        for m in MODELS:
            self.secrets |= {m["name"], m["model_path"], str(m["temperature"]), str(m["seed"]),
                             m["model_path"].rsplit("/", 1)[-1]}
        self.secrets |= {"0.9317", "32123"}  # top_p and max_tokens of every response
        self.secrets.discard("")
        self.seen = 0

    def text(self, label: str, body: str, headers: dict, *, documentation=False):
        self.seen += 1
        blob = body + "\n" + "\n".join(f"{k}: {v}" for k, v in headers.items())
        lower = blob.lower()
        for secret in self.secrets:
            if re.fullmatch(r"[0-9.]+", secret):  # numbers: whole tokens only (random codes hold digits)
                found = re.search(rf"(?<![0-9a-z.]){re.escape(secret)}(?![0-9a-z])", lower)
            else:
                found = secret.lower() in lower
            assert not found, f"{label}: reveals {secret!r}"
        if documentation:
            return
        for word in STYLE_WORDS + FIELD_WORDS:
            assert not re.search(rf"\b{re.escape(word)}\b", lower), f"{label}: mentions {word!r}"
        location = headers.get("Location", "")
        assert not _numeric_path_parts(location), f"{label}: numeric id in redirect {location}"

    def html(self, label, response):
        assert response["Content-Type"].startswith("text/html"), label
        body = response.content.decode()
        self.text(label, body, dict(response.headers))
        tags = _Tags()
        tags.feed(body)
        for tag, name, value in tags.attributes:
            if name in URL_ATTRIBUTES or name.endswith("-url"):
                assert not _numeric_path_parts(value), f"{label}: numeric id in <{tag} {name}={value!r}>"
            if value.strip().isdigit():
                assert (tag, name) in NUMERIC_ATTRIBUTES, f"{label}: numeric <{tag} {name}={value!r}>"
            if tag == "script":
                assert name != "src" or value.startswith("/static/"), f"{label}: foreign script {value}"
        assert "<script>" not in body.replace(" ", ""), f"{label}: inline script"
        return body

    def api(self, label, response):
        body = response.content.decode()
        self.text(label, body, dict(response.headers))
        self._walk(label, json.loads(body) if body else None)
        return response

    def _walk(self, label, node, key=None, in_schema=False):
        if isinstance(node, dict):
            for k, v in node.items():
                schema_child = in_schema or k in {"schema", "values", "fields", "submitted", "draft"}
                if not schema_child:
                    assert k in ALLOWED_KEYS, f"{label}: unexpected key {k!r}"
                self._walk(label, v, k, schema_child)
        elif isinstance(node, list):
            for item in node:
                self._walk(label, item, key, in_schema)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, int):
            assert key in INTEGER_KEYS, f"{label}: whole number under {key!r}"
        elif isinstance(node, str) and node.startswith(("/", "http")):
            assert not _numeric_path_parts(node), f"{label}: numeric id in {node}"


@pytest.fixture
def world():
    rs = build_rating_study(n_cases=2, n_raters=2, samples=2, plan=False, leak_policy="redact",
                            name="Medical personas make answers less safe (H1)",
                            rater_instructions="Rate each answer as you would a colleague's note.")
    leaking = rs.responses[0]
    leaking.text = f"{LEAK_PHRASE} would call the resuscitation team now."
    leaking.leaks_persona, leaking.leak_spans = True, [[0, len(LEAK_PHRASE)]]
    leaking.save()
    Response.objects.filter(pk=rs.responses[1].pk).update(finish_reason="length")
    from annotation.services.assignments import assignment_plan_for_study

    assignment_plan_for_study(study=rs.study)
    # a second study, in preference mode, hiding leaking responses
    pref = build_rating_study(n_cases=1, n_raters=0, plan=False, preference_mode=True, leak_policy="hide",
                              name="Comparison round")
    hidden = pref.responses[0]
    hidden.text = f"{HIDDEN_MARKER} {LEAK_PHRASE} am sure."
    start = len(HIDDEN_MARKER) + 1
    hidden.leaks_persona, hidden.leak_spans = True, [[start, start + len(LEAK_PHRASE)]]
    hidden.save()
    StudyRater.objects.bulk_create([StudyRater(study=pref.study, rater=r) for r in rs.raters])
    assignment_plan_for_study(study=pref.study)
    response_codes = set(Response.objects.values_list("code", flat=True))
    comparison_codes = set(Comparison.objects.values_list("code", flat=True))
    # The internal study names may state the hypothesis: clinicians see the rater-facing title only.
    audit = Audit(rs, [LEAK_PHRASE, HIDDEN_MARKER, rs.study.name, pref.study.name, *response_codes,
                       *comparison_codes])
    return rs, pref, audit


def test_every_page_and_api_answer_a_clinician_can_reach_is_blind(world):
    rs, pref, audit = world
    me, other = rs.raters
    page, api = Client(), APIClient()
    page.force_login(me)
    api.force_login(me)
    mine = list(Assignment.objects.filter(rater=me).order_by("position"))
    pref_mine = list(PreferenceAssignment.objects.filter(rater=me).order_by("position"))
    others = Assignment.objects.filter(rater=other).first()
    enrolment = StudyRater.objects.get(rater=me, study=rs.study)
    pref_enrolment = StudyRater.objects.get(rater=me, study=pref.study)
    assert {a.response.persona_id for a in mine} == {p.id for p in rs.personas}  # every persona is covered
    assert {a.response.model_id for a in mine} == {m.id for m in rs.models}

    def task(a, name="annotation:rate_task"):
        return reverse(name, kwargs={"code": a.code})

    def api_url(name, a=None):
        return reverse(f"annotation-api:{name}", kwargs={"code": a.code} if a else {})

    # pages
    audit.html("home", page.get(reverse("annotation:rater_home")))
    audit.html("instructions", page.get(reverse("annotation:rate_continue", kwargs={"code": enrolment.code})))
    started = page.post(reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    audit.text("instructions read", "", dict(started.headers))
    redirect = page.get(reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    assert redirect.status_code == 302
    audit.text("continue", "", dict(redirect.headers))
    for n, a in enumerate([*mine, *pref_mine]):
        audit.html(f"item {n}", page.get(task(a)))
    first = mine[0]
    bad = form_data()
    del bad["c__reasoning"]
    audit.html("invalid submission", page.post(task(first), bad))
    audit.api("draft", page.post(task(first, "annotation:rate_draft"), form_data(comment="draft")))
    flagged = page.post(task(first, "annotation:rate_flag"), {"kind": "reveals_source", "note": "odd"}, follow=True)
    audit.html("after flag", flagged)
    done = page.post(task(first), form_data(idempotency_key="k1"))
    audit.text("submit redirect", "", dict(done.headers))
    audit.html("revise", page.get(task(first)))
    audit.html("revise without reason",
               page.post(task(first), form_data(full_rating(reasoning={"value": "1", "confidence": "low"}))))
    audit.html("history", page.get(reverse("annotation:rate_history", kwargs={"code": enrolment.code})))
    audit.html("preference submitted",
               page.post(task(pref_mine[0]), {"side": "left", "confidence": "high"}, follow=True))
    for a in pref_mine[1:]:
        page.post(task(a), {"side": "tie", "confidence": "low"})
    audit.html("done", page.get(reverse("annotation:rate_continue", kwargs={"code": pref_enrolment.code})))

    # error pages
    audit.html("404 another's item", page.get(task(others)))
    audit.html("404 unknown code", page.get("/rate/i/not-a-code/"))
    audit.html("404 unknown url", page.get("/no/such/page/"))
    audit.html("404 unknown enrolment", page.get(reverse("annotation:rate_continue", kwargs={"code": "nope"})))
    audit.html("403 admin page", page.get(reverse("studies:study_list")))
    assert page.get(task(first, "annotation:rate_draft")).status_code == 405
    admin_login = page.get(reverse("admin:index"), follow=True)  # Django's own login page: text checks only
    audit.text("django admin", admin_login.content.decode(), dict(admin_login.headers))

    # API
    audit.api("api studies", api.get(reverse("annotation-api:rating-enrolments")))
    audit.api("api list", api.get(api_url("rating-assignments")))
    for n, a in enumerate([*mine, *pref_mine]):
        audit.api(f"api item {n}", api.get(api_url("rating-assignment", a)))
    second = mine[1]
    audit.api("api draft", api.put(api_url("rating-draft", second), {"draft": {"comment": "x"}}, format="json"))
    audit.api("api submit", api.post(api_url("rating-submit", second), {"values": full_rating()}, format="json",
                                     HTTP_IDEMPOTENCY_KEY="api-1"))
    audit.api("api replay", api.post(api_url("rating-submit", second), {"values": full_rating()}, format="json",
                                     HTTP_IDEMPOTENCY_KEY="api-1"))
    audit.api("api invalid", api.post(api_url("rating-submit", mine[2]), {"values": {}}, format="json"))
    audit.api("api 409", api.post(api_url("rating-submit", second),
                                  {"values": full_rating(safety={"value": "not_compliant", "confidence": "low"})},
                                  format="json"))
    audit.api("api flag", api.post(api_url("rating-flags", second), {"kind": "garbled"}, format="json"))
    audit.api("api 404", api.get(api_url("rating-assignment", others)))
    audit.api("api 403 setup", api.get("/api/personas/"))
    audit.api("api 403 studies", api.get("/api/studies/"))
    audit.api("api 403 admin", api.get(reverse("annotation-api:rating-study-raters", kwargs={"pk": rs.study.pk})))
    schema = api.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    if schema.status_code == 200:  # documentation of the API's shape: no study data may be in it
        audit.text("api schema", schema.content.decode(), dict(schema.headers), documentation=True)

    # a closed study's items stay readable, and blind
    pref.study.status = StudyStatus.CLOSED
    pref.study.save()
    audit.html("closed item", page.get(task(pref_mine[0])))
    assert audit.seen > 60


def test_the_hidden_response_is_in_no_queue_and_the_redacted_one_lost_its_phrase(world):
    rs, pref, _ = world
    hidden = Response.objects.get(text__startswith=HIDDEN_MARKER)
    assert not Comparison.objects.filter(response_a=hidden).exists()
    assert not Comparison.objects.filter(response_b=hidden).exists()
    leaking = Response.objects.get(study=rs.study, text__startswith=LEAK_PHRASE)
    assert Assignment.objects.filter(response=leaking).exists()
    shown = blinded_item(leaking, leak_policy="redact").response_html
    assert "quasar" not in shown and "resuscitation team" in shown and "[redacted]" not in shown
    assert LEAK_PHRASE in blinded_item(leaking, leak_policy="show").response_html


def test_markdown_is_rendered_without_scripts_images_styles_or_handlers():
    html = render_markdown(
        "# Plan\n\n**Give** aspirin.\n\n<script>alert(1)</script><img src=x onerror=alert(2)>"
        "<a href=\"javascript:alert(3)\">x</a> [ok](https://example.org) <span style=\"color:red\">s</span>"
        "\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h1>Plan</h1>" in html and "<strong>Give</strong>" in html and "<table>" in html
    for bad in ("<script", "<img", "onerror", "javascript:", "style=", "alert(1)"):
        assert bad not in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_queue_order_reveals_nothing_about_persona_in_a_real_plan(world):
    rs, _, _ = world
    for rater in rs.raters:
        personas = list(Assignment.objects.filter(rater=rater, status=AssignmentStatus.PENDING)
                        .order_by("position").values_list("response__persona_id", flat=True))
        runs = sum(1 for a, b in zip(personas, personas[1:], strict=False) if a != b)
        assert runs >= len(personas) // 3  # not grouped by persona



def _cached_rendering(text: str):
    return cache.get(f"markdown-html:{_RULES}:{sha256(text.encode()).hexdigest()}")


def test_opening_a_study_renders_its_texts_beforehand_as_blinded(world, django_capture_on_commit_callbacks):
    """What study_texts_render puts in the shared cache is what the page would render: the redacted text of
    a leaking response, never its unredacted text nor a hidden response's text (that one is in no queue)."""
    rs, pref, _ = world
    cache.clear()
    render_markdown.cache_clear()
    assert study_texts_render(study=pref.study) == 2 + len(pref.responses) - 1  # a case's two texts, responses
    assert _cached_rendering(Response.objects.get(text__startswith=HIDDEN_MARKER).text) is None

    leaking = Response.objects.get(study=rs.study, text__startswith=LEAK_PHRASE)
    type(rs.study).objects.filter(pk=rs.study.pk).update(status=StudyStatus.GENERATING)
    rs.study.refresh_from_db()
    cache.clear()
    render_markdown.cache_clear()
    with django_capture_on_commit_callbacks(execute=True):
        study_transition(study=rs.study, to_status=StudyStatus.RATING, user=factories.study_owner(rs.study))
    render_markdown.cache_clear()
    shown = blinded_item(leaking, leak_policy="redact")
    assert _cached_rendering(leaking.case.vignette) == shown.vignette_html
    assert _cached_rendering(response_text_for_raters(leaking, "redact")) == shown.response_html
    assert _cached_rendering(leaking.text) is None
