from django.urls import path

from whatsapp import views

app_name = "whatsapp"
urlpatterns = [
    path("<uuid:uid>/", views.callback, name="callback"),
]
