from django.urls import path

from streams import views

app_name = "streams"
urlpatterns = [
    path("", views.stream_list, name="list"),
    path("new/<slug:type_slug>/", views.stream_create, name="create"),
    path("tags/", views.tag_suggestions, name="tag_suggestions"),
    path("<uuid:uid>/", views.stream_panel, name="detail"),
    path("<uuid:uid>/setup/<slug:step>/", views.stream_setup, name="setup"),
    path("<uuid:uid>/disable/", views.stream_disable, name="disable"),
    path("<uuid:uid>/enable/", views.stream_enable, name="enable"),
    path("<uuid:uid>/token/", views.stream_token_regenerate, name="regenerate_token"),
    path("<uuid:uid>/delete/", views.stream_delete, name="delete"),
    path("<uuid:uid>/<slug:tab>/", views.stream_panel, name="tab"),
]
