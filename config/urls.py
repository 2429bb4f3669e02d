from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
