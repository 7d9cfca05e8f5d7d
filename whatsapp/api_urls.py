from django.urls import path

from whatsapp import api

urlpatterns = [
    path("whatsapp/send/", api.send, name="api_send"),
    path("messages_status/", api.messages_status, name="api_messages_status"),
]
