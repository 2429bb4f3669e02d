from .api.views import urlpatterns

app_name = "studies-api"
__all__ = ["urlpatterns"]
