from .api.rating import urlpatterns

app_name = "annotation-api"
__all__ = ["urlpatterns"]
