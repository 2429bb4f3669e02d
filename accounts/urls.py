from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/changed/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/set/", views.password_set_one_time, name="password_set"),
    path("password/set/done/", views.password_set_done, name="password_set_done"),
    path("password/set/<uidb64>/<token>/", views.InvitationPasswordSetView.as_view(), name="password_set_confirm"),
    path("healthz", views.healthz, name="healthz"),
]
