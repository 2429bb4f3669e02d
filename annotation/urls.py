from django.urls import path

from .views import rater, setup

app_name = "annotation"

urlpatterns = [
    path("studies/", setup.study_list, name="study_list"),
    path("studies/new/", setup.study_create_view, name="study_create"),
    path("studies/import/", setup.study_import_view, name="study_import"),
    path("studies/<int:pk>/", setup.study_detail, name="study_detail"),
    path("studies/<int:pk>/edit/", setup.study_edit, name="study_edit"),
    path("studies/<int:pk>/transition/", setup.study_transition, name="study_transition"),
    path("studies/<int:pk>/export/", setup.study_export, name="study_export"),
    path("case-sets/", setup.case_set_list_view, name="case_set_list"),
    path("case-sets/upload/", setup.case_set_upload, name="case_set_upload"),
    path("case-sets/upload/confirm/", setup.case_set_upload_confirm, name="case_set_upload_confirm"),
    path("case-sets/<int:pk>/", setup.case_set_detail, name="case_set_detail"),
    path("personas/", setup.persona_list_view, name="persona_list"),
    path("personas/new/", setup.persona_create_view, name="persona_create"),
    path("personas/load-library/", setup.persona_library_load_view, name="persona_library_load"),
    path("personas/<int:pk>/", setup.persona_detail, name="persona_detail"),
    path("personas/<int:pk>/edit/", setup.persona_edit, name="persona_edit"),
    path("rate/", rater.rater_home, name="rater_home"),
    path("rate/s/<str:code>/", rater.study_continue, name="rate_continue"),
    path("rate/s/<str:code>/history/", rater.study_history, name="rate_history"),
    path("rate/i/<str:code>/", rater.task_page, name="rate_task"),
    path("rate/i/<str:code>/draft/", rater.task_draft, name="rate_draft"),
    path("rate/i/<str:code>/flag/", rater.task_flag, name="rate_flag"),
]
