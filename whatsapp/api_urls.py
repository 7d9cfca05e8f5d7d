from django.urls import path

from whatsapp import api, openapi

urlpatterns = [
    path("whatsapp/send/", api.send, name="api_send"),
    path("messages_status/", api.messages_status, name="api_messages_status"),
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs", openapi.api_docs, name="api_docs"),
]
