from django.urls import path

from whatsapp import api, openapi

urlpatterns = [
    path("whatsapp/send/", api.send, name="api_send"),
    path("messages_status/", api.messages_status, name="api_messages_status"),
    # Any text, not just a uuid: a malformed one is a JSON 404 like an unknown one.
    path("media/<str:message_uuid>/", api.media, name="api_media"),
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs", openapi.api_docs, name="api_docs"),
]
