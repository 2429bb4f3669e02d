from .api.setup import urlpatterns as setup_urlpatterns

app_name = "annotation-api"
urlpatterns = []
urlpatterns += setup_urlpatterns  # /api/case-sets/, cases/, personas/, model-specs/, studies/
