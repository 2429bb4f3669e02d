app_name = "inference"
urlpatterns = []
