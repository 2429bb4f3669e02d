from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer


class SchemaView(SpectacularAPIView):
    """The schema; its errors (401 before login) are JSON in the API's error shape, not YAML."""

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


# Swagger UI and Redoc come from the project's own static files (drf-spectacular-sidecar), so the docs
# work offline; the split view serves Swagger's start-up script as a file, not inline. Anonymous
# visitors are sent to the login page first. Redoc styles its page with inline styles.
api_docs = login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))
api_redoc = login_required(csp_update({"style-src": ["'unsafe-inline'"]})(
    SpectacularRedocView.as_view(url_name="api-schema")))

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("studies.urls")),
    path("", include("annotation.urls")),
    path("", include("inference.urls")),
    path("reports/", include("agreement.urls")),
    path("api/", include("studies.api_urls")),
    path("api/", include("annotation.api_urls")),
    path("api/", include("inference.api_urls")),
    path("api/", include("agreement.api_urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/redoc/", api_redoc, name="api-redoc"),
    path("admin/", admin.site.urls),
]

# Django's own error pages; under /api/ they answer in the API's JSON error shape instead.
handler400 = "config.exceptions.bad_request"
handler403 = "config.exceptions.permission_denied"
handler404 = "config.exceptions.page_not_found"
handler500 = "config.exceptions.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
