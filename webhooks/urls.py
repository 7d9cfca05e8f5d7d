from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("preview/", views.webhook_preview, name="preview"),
    path("remove/", views.webhook_remove, name="remove"),
]
