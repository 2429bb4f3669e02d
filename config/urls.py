from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

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
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/redoc/", api_redoc, name="api-redoc"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
