"""The one place that turns a response into what a clinician may see.

A clinician gets the case (vignette and question) and the response text, rendered from Markdown to
sanitised HTML, under the assignment's opaque code, and nothing else: no persona, role, style, model,
sample index or generation setting, and no database id. Every clinician-facing page and API response
builds its item from `blinded_item` / `blinded_pair`, and the blinding audit test checks the result.

Responses whose text reveals their persona follow the study's leak policy: "hide" keeps them out of
every queue (`is_assignable`), "redact" removes the revealing phrases, "show" leaves them as written.
"""
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256

import markdown
import nh3
from django.core.cache import cache

from studies.leak import redact
from studies.models import LeakPolicy, Response

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "a",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]
LINK_REL = "noopener noreferrer nofollow"
# Rendered HTML stays this long in the shared cache (a week: a study's rating rarely idles longer).
RENDERED_SECONDS = 7 * 24 * 3600
# Part of every cache key, the same in every process (sets sorted): HTML rendered under other rules (tags,
# attributes, extensions, library versions) is never served once they change.
_RULES = sha256(repr((
    sorted(ALLOWED_TAGS), sorted((tag, sorted(names)) for tag, names in ALLOWED_ATTRIBUTES.items()),
    sorted(URL_SCHEMES), MARKDOWN_EXTENSIONS, LINK_REL, markdown.__version__, nh3.__version__,
)).encode()).hexdigest()[:16]
# A redacted phrase is removed, not marked: a visible "[redacted]" would itself tell a rater that the
# response was written under a persona (see studies.leak.redact).
REDACTION_PLACEHOLDER = ""


@dataclass(frozen=True)
class BlindedItem:
    vignette_html: str
    question_html: str
    response_html: str


@dataclass(frozen=True)
class BlindedPair:
    vignette_html: str
    question_html: str
    left_html: str
    right_html: str


@lru_cache(maxsize=2048)
def render_markdown(text: str) -> str:
    """Markdown to HTML that can carry no script, style, image, form or event handler. A pure function of
    the text, remembered per process (a case's vignette and question recur on every one of its items) and
    in the shared cache under a digest of the text and of the rules (a response's few raters, on any web
    worker, share one rendering; an entry can never be stale). The cache is trusted as it is with sessions."""
    text = text or ""
    key = f"markdown-html:{_RULES}:{sha256(text.encode()).hexdigest()}"
    html = cache.get(key)
    if html is None:
        html = _sanitised_html(text)
        cache.set(key, html, RENDERED_SECONDS)
    return html


def _sanitised_html(text: str) -> str:
    html = markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel=LINK_REL, strip_comments=True)


def is_assignable(response: Response, leak_policy: str) -> bool:
    return not (response.leaks_persona and leak_policy == LeakPolicy.HIDE)


def response_text_for_raters(response: Response, leak_policy: str) -> str:
    if not is_assignable(response, leak_policy):
        raise ValueError("a response hidden by the study's leak policy must never be shown")
    if response.leaks_persona and leak_policy == LeakPolicy.REDACT and response.leak_spans:
        return redact(response.text, response.leak_spans, placeholder=REDACTION_PLACEHOLDER)
    return response.text


def blinded_item(response: Response, *, leak_policy: str) -> BlindedItem:
    case = response.case
    return BlindedItem(
        vignette_html=render_markdown(case.vignette),
        question_html=render_markdown(case.question),
        response_html=render_markdown(response_text_for_raters(response, leak_policy)),
    )


def study_texts_render(*, study) -> int:
    """Render every text a clinician of `study` may be shown (cases and assignable responses, as blinded) into
    the shared cache, so that no clinician waits for Markdown on an item's first view. Run by a task when the
    study opens for rating; what is not rendered then (an evicted entry) renders on first view as before.
    Returns the number of texts rendered."""
    policy, cases, rendered = study.leak_policy, set(), 0
    for response in Response.objects.filter(study=study).select_related("case").iterator(chunk_size=2000):
        if not is_assignable(response, policy):
            continue
        texts = [response_text_for_raters(response, policy)]
        if response.case_id not in cases:
            cases.add(response.case_id)
            texts += [response.case.vignette, response.case.question]
        for text in texts:
            render_markdown(text)
        rendered += len(texts)
    return rendered


def blinded_pair(comparison, *, left_is_a: bool, leak_policy: str) -> BlindedPair:
    """Both sides of a preference task, in the order this rater was drawn to see them."""
    case = comparison.case
    a = render_markdown(response_text_for_raters(comparison.response_a, leak_policy))
    b = render_markdown(response_text_for_raters(comparison.response_b, leak_policy))
    left, right = (a, b) if left_is_a else (b, a)
    return BlindedPair(render_markdown(case.vignette), render_markdown(case.question), left, right)
