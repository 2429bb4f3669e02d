"""One domain error type for the whole project, and the one shape every API error has.

Services raise `ApplicationError(message, extra={...})`; every API answers it as
`{"message": ..., "extra": ...}` with status 400 (or the error's own status). So do DRF's own errors
(api_exception_handler), Django's 400/403/404/500 under /api/ (the handler* views, set in config.urls),
and the request guard (config.middleware). The OpenAPI schema states that shape once (the `Error`
component) and every error status each operation can answer (error_responses, error_responses_hook).
"""
import copy

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

API_PREFIX = "/api/"
BIGINT_MAX = 2**63 - 1


def id_or_none(value: str | None) -> int | None:
    """A query-string id as the database can compare it (ASCII digits, within a bigint), else None."""
    if value is None or not (value.isascii() and value.isdigit()) or int(value) > BIGINT_MAX:
        return None
    return int(value)


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, message: str, extra: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = {"message": "Validation error", "extra": {"fields": response.data}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"message": str(detail), "extra": {}}
    return response


# --------------------------------------------------------------------------- Django's own errors under /api/


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error_response(message: str, status: int, extra: dict | None = None) -> JsonResponse:
    return JsonResponse({"message": message, "extra": extra or {}}, status=status)


def bad_request(request, exception=None):
    if is_api_request(request):
        return api_error_response("Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api_request(request):
        return api_error_response("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    """An unknown /api/ path, or one whose id is not a number, is a JSON 404 like a missing object."""
    if is_api_request(request):
        return api_error_response("Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_request(request):
        return api_error_response("Server error.", 500)
    return defaults.server_error(request)


# --------------------------------------------------------------------------- the error shape in the schema

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error: a message for people, details for programs.",
    "properties": {
        "message": {"type": "string", "description": "What went wrong"},
        "extra": {
            "type": "object", "additionalProperties": {},
            "description": "Details: `fields` maps each invalid field to its problems; an import adds its "
                           "result; the request guard names the `location` of the refused text.",
        },
    },
    "required": ["message", "extra"],
}


def error_ref() -> dict:
    return {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

ERROR_DESCRIPTIONS = {
    400: "Invalid input: validation errors per field in extra.fields, or text that is not allowed",
    401: "Not logged in (or wrong HTTP Basic credentials)",
    403: "Logged in without the role this needs, or a session write without its CSRF token",
    404: "No such object (or not yours), or page out of range",
    409: "Conflicts with the current state (the study's status, another write at the same time)",
    413: "The request body is too large",
    415: "A body of a media type this operation does not take",
    429: "Too many failed log-ins for this username from this address (HTTP Basic): wait Retry-After seconds",
}
# Every operation: input, authentication, role, existence. With a request body: its size and media type.
ALWAYS = (400, 401, 403, 404)
WITH_BODY = (413, 415)


def error_responses(*statuses: int, **descriptions: str) -> dict:
    """extend_schema responses for error statuses, in the one shape; descriptions as e.g. `_409="..."`."""
    return {status: OpenApiResponse(response=error_ref(),
                                    description=descriptions.get(f"_{status}", ERROR_DESCRIPTIONS[status]))
            for status in statuses}


def _error_response_object(status: int) -> dict:
    return {"description": ERROR_DESCRIPTIONS[status], "content": {"application/json": {"schema": error_ref()}}}


def error_responses_hook(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Error component, and on every operation the error statuses
    it can answer that its view did not declare (a view declares 409 where its service can answer it)."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = copy.deepcopy(ERROR_SCHEMA)
    lockout = (429,) if settings.API_BASIC_AUTH else ()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = ALWAYS + (WITH_BODY if "requestBody" in operation else ()) + lockout
            for status in statuses:
                operation["responses"].setdefault(str(status), _error_response_object(status))
    return result
