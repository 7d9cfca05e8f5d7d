from django.urls import path

from textpeak.accounts import views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("password/changed/", views.password_change_done, name="password_change_done"),
    path("beta/<slug:feature>/request/", views.beta_request, name="beta_request"),
]
