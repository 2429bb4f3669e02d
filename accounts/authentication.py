"""API authentication classes (settings.REST_FRAMEWORK).

- SessionAuthentication: DRF's, except that the CSRF check reads the request body only when the token
  can be in it (a form post the view can parse). DRF's own check parses every POST body with the view's
  parsers before permissions run, so a user without the role got 415 or 400 instead of 403.
- BasicAuthentication: DRF's, on only when settings.API_BASIC_AUTH is true, and counted by the login
  throttle: django.contrib.auth.authenticate gets the Django request, where the lockout middleware looks.
"""
from django.conf import settings
from django.http import QueryDict
from drf_spectacular import authentication as schema_auth
from rest_framework import authentication, exceptions
from rest_framework.request import is_form_media_type


class _WithoutBody:
    """A request as the CSRF check sees it when the token can only be in the X-CSRFToken header."""

    def __init__(self, request):
        object.__setattr__(self, "_wrapped", request)

    @property
    def POST(self):  # noqa: N802 - HttpRequest's name
        return QueryDict()

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def __setattr__(self, name, value):
        setattr(self._wrapped, name, value)


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate_header(self, request):
        # A challenge makes a call without valid credentials a 401, as HTTP has it, rather than DRF's 403;
        # a Session (not Basic) challenge keeps browsers from opening their own login dialog.
        return 'Session realm="api"'

    def enforce_csrf(self, request):
        if is_form_media_type(request.content_type):
            try:
                request.POST  # noqa: B018 - parse with the view's parsers: the token may be a form field
            except (exceptions.UnsupportedMediaType, exceptions.ParseError):
                # The view cannot read this body: it says so itself (415), after its permission check.
                return super().enforce_csrf(_WithoutBody(request))
            return super().enforce_csrf(request)
        # Any other body (JSON): the token is in the header, and DRF's POST would be empty anyway.
        return super().enforce_csrf(_WithoutBody(request))


class BasicAuthentication(authentication.BasicAuthentication):
    def authenticate(self, request):
        if not settings.API_BASIC_AUTH:
            return None
        return super().authenticate(request)

    def authenticate_credentials(self, userid, password, request=None):
        # The Django request: the throttle records the attempt there without parsing the body with the
        # view's parsers, and flags a lockout where its middleware turns it into the lockout response.
        return super().authenticate_credentials(userid, password, getattr(request, "_request", request))


# The OpenAPI schema describes them as the DRF classes they extend (registered on definition).
class SessionScheme(schema_auth.SessionScheme):
    target_class = SessionAuthentication


class BasicScheme(schema_auth.BasicScheme):
    target_class = BasicAuthentication
