"""The stream APIs' URLs, under /api/: authenticated by stream token, not a session."""

from django.urls import path

from whatsapp.api import docs, media, openapi, send, upload

urlpatterns = [
    path("whatsapp/send/", send.send, name="api_send"),
    path("whatsapp/contacts/", send.contacts, name="api_contacts"),
    path("whatsapp/media/", upload.upload, name="api_media_upload"),
    path("whatsapp/read/", send.read, name="api_read"),
    path("messages_status/", send.messages_status, name="api_messages_status"),
    # Any text, not just a uuid: a malformed one is a JSON 404 like an unknown one.
    path("media/<str:message_uuid>/", media.media, name="api_media"),
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path("docs", docs.api_docs, name="api_docs"),
]
