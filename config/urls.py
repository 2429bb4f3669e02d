from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# Swagger UI comes from its CDN; the split view serves its start-up script as a file, not inline.
SWAGGER_UI_ORIGIN = "https://cdn.jsdelivr.net"
api_docs = csp_update({"script-src": [SWAGGER_UI_ORIGIN], "style-src": [SWAGGER_UI_ORIGIN],
                       "img-src": [SWAGGER_UI_ORIGIN]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))

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
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
