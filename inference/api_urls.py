app_name = "inference-api"
urlpatterns = []
