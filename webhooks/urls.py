from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("preview/", views.webhook_preview, name="preview"),
    path("remove/", views.webhook_remove, name="remove"),
    path("remove/confirm/", views.webhook_remove_confirm, name="remove_confirm"),
    path("test/", views.webhook_test, name="test"),
    path("secret/", views.webhook_rotate_secret, name="rotate_secret"),
    path("secret/confirm/", views.webhook_rotate_secret_confirm, name="rotate_secret_confirm"),
    path("enable/", views.webhook_enable, name="enable"),
    path("deliveries/<uuid:delivery>/redeliver/", views.delivery_redeliver, name="redeliver"),
]
