from django.urls import path

from whatsapp import views

app_name = "whatsapp"
urlpatterns = [
    # Any text: an old /<stream uid>/ URL, or a rotated key, is answered like an unknown one.
    path("<str:key>/", views.callback, name="callback"),
]
