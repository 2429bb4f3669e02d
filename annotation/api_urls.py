app_name = "annotation-api"
urlpatterns = []
