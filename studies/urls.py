from django.urls import path

from . import views, views_imports, views_models

app_name = "studies"

urlpatterns = [
    path("studies/", views.study_list, name="study_list"),
    path("studies/new/", views.study_create, name="study_create"),
    path("studies/import/", views.study_import, name="study_import"),
    path("studies/<int:pk>/", views.study_detail, name="study_detail"),
    path("studies/<int:pk>/edit/", views.study_edit, name="study_edit"),
    path("studies/<int:pk>/transition/", views.study_transition, name="study_transition"),
    path("studies/<int:pk>/export/", views.study_export, name="study_export"),
    path("studies/<int:pk>/members/", views.study_member_set, name="study_member_set"),
    path("studies/<int:pk>/members/<str:username>/remove/", views.study_member_remove, name="study_member_remove"),
    path("case-sets/", views.case_set_list, name="case_set_list"),
    path("case-sets/upload/", views_imports.case_set_upload, name="case_set_upload"),
    path("case-sets/upload/confirm/", views_imports.case_set_upload_confirm, name="case_set_upload_confirm"),
    path("case-sets/imports/<int:pk>/", views_imports.case_set_import_run, name="case_set_import_run"),
    path("case-sets/<int:pk>/", views.case_set_detail, name="case_set_detail"),
    path("personas/", views.persona_list, name="persona_list"),
    path("personas/new/", views.persona_create, name="persona_create"),
    path("personas/load-library/", views.persona_library_load, name="persona_library_load"),
    path("personas/<int:pk>/", views.persona_detail, name="persona_detail"),
    path("personas/<int:pk>/edit/", views.persona_edit, name="persona_edit"),
    path("models/", views_models.model_spec_list, name="model_spec_list"),
    path("models/new/", views_models.model_spec_create_view, name="model_spec_create"),
    path("models/new-judge/", views_models.judge_create_view, name="judge_create"),
    path("models/<int:pk>/", views_models.model_spec_detail, name="model_spec_detail"),
    path("models/<int:pk>/edit/", views_models.model_spec_edit, name="model_spec_edit"),
]
