from django.urls import path

from textpeak.accounts import members_views, views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("password/changed/", views.password_change_done, name="password_change_done"),
    path("beta/<slug:feature>/request/", views.beta_request, name="beta_request"),
    path("account/members/", members_views.member_list, name="members"),
    path("account/members/invite/", members_views.member_invite, name="member_invite"),
    path("account/members/<int:member_id>/role/", members_views.member_role, name="member_role"),
    path(
        "account/members/<int:member_id>/resend/",
        members_views.member_resend,
        name="member_resend",
    ),
    path(
        "account/members/<int:member_id>/remove/",
        members_views.member_remove,
        name="member_remove",
    ),
    path(
        "account/invitation/<uidb64>/<token>/",
        members_views.invitation_accept,
        name="invitation_accept",
    ),
]
