from .api.rating import urlpatterns as rating_urlpatterns
from .api.setup import urlpatterns as setup_urlpatterns

app_name = "annotation-api"
urlpatterns = []
urlpatterns += setup_urlpatterns  # /api/case-sets/, cases/, personas/, model-specs/, studies/
urlpatterns += rating_urlpatterns  # /api/rating/...: clinicians' items by opaque code; admin rater roster
