from django.urls import path

from streams import views

app_name = "streams"
urlpatterns = [
    path("", views.stream_list, name="list"),
    path("new/<slug:type_slug>/", views.stream_create, name="create"),
    path("<uuid:uid>/", views.stream_detail, name="detail"),
]
