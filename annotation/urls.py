from django.urls import path

from .views import rater, setup

app_name = "annotation"

urlpatterns = [
    path("studies/", setup.study_list, name="study_list"),
    path("rate/", rater.rater_home, name="rater_home"),
]
