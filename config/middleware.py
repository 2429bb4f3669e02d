"""Refuses text the database cannot store before any view, authentication or session lookup sees it.

PostgreSQL text and JSON cannot hold NUL (U+0000), and no UTF-8 text can hold a lone surrogate; either one
used to reach a query (an HTTP Basic username, a session cookie, a code in the path, a JSON value) and end
as a 500. Under /api/ such a request is answered 400 in the API's error shape, naming where the bad text
was; every database then behaves the same (SQLite would have stored the NUL).

Checked: the path, the query string, every header (HTTP Basic credentials decoded), cookies, and JSON and
form-encoded bodies. Multipart bodies are left to the views: their text fields are DRF CharFields, which
refuse NUL themselves, and their files are read by the importers. A JSON or form body is read here only
within DATA_UPLOAD_MAX_MEMORY_SIZE (a larger one is answered 413); one that does not parse is left to
the view, which answers it after its permission check; one nested too deeply to parse is refused here.
"""
import base64
import binascii
import json

from django.core.exceptions import RequestDataTooBig
from django.http import QueryDict

from .exceptions import api_error_response, is_api_request

INVALID_TEXT = "The request contains text that is not allowed (a NUL character or invalid Unicode)."
NESTED_TOO_DEEPLY = "The JSON body is nested too deeply to read."


def invalid_text(value: str) -> bool:
    """True for text no database column can take: a NUL or a lone surrogate."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _invalid_json(document) -> bool:
    """Any key or string value of the parsed document invalid_text (a walk without recursion)."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if invalid_text(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _basic_credentials_invalid(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False  # not Basic credentials at all: the authentication answers that itself
    return b"\x00" in decoded or invalid_text(decoded.decode("utf-8", errors="replace"))


def _header_problem(request) -> dict | None:
    for key, value in request.META.items():
        if not key.startswith("HTTP_") or not isinstance(value, str):
            continue
        name = key[5:].replace("_", "-").title()
        if invalid_text(value) or (key == "HTTP_AUTHORIZATION" and _basic_credentials_invalid(value)):
            return {"location": "header", "name": name}
    return None


def _query_problem(request) -> dict | None:
    for name, values in request.GET.lists():
        if invalid_text(name) or any(invalid_text(v) for v in values):
            return {"location": "query", "name": name if not invalid_text(name) else ""}
    return None


def _cookie_problem(request) -> dict | None:
    # A quoted cookie value may carry an octal escape (\000) that only decoding turns into a NUL.
    for name, value in request.COOKIES.items():
        if invalid_text(name) or invalid_text(value):
            return {"location": "cookie", "name": name if not invalid_text(name) else ""}
    return None


def _body_problem(request) -> dict | None:
    content_type = request.content_type or ""
    if content_type.endswith("json"):
        try:
            data = json.loads(request.body.decode("utf-8"))
        except ValueError:  # not UTF-8 or not JSON: the view's parser answers it, after its permission check
            return None
        except RecursionError:  # nested deeper than any parser here can follow
            return {"location": "body", "message": NESTED_TOO_DEEPLY}
        # Parsed JSON can only hold a NUL or a lone surrogate written as a \u escape.
        return {"location": "body"} if b"\\u" in request.body and _invalid_json(data) else None
    if content_type == "application/x-www-form-urlencoded":
        form = QueryDict(request.body, encoding=request.encoding)
        if any(invalid_text(name) or any(invalid_text(v) for v in values) for name, values in form.lists()):
            return {"location": "body"}
    return None


def request_text_problem(request) -> dict | None:
    """Where a request carries text the database cannot store, or None."""
    if invalid_text(request.path_info):
        return {"location": "path"}
    return _header_problem(request) or _cookie_problem(request) or _query_problem(request) or _body_problem(request)


class ApiTextGuardMiddleware:
    """Answers an /api/ request that carries NUL or a lone surrogate with 400, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_request(request):
            try:
                problem = request_text_problem(request)
            except RequestDataTooBig:
                return api_error_response("The request body is too large.", 413)
            if problem is not None:
                return api_error_response(problem.pop("message", INVALID_TEXT), 400, extra=problem)
        return self.get_response(request)
