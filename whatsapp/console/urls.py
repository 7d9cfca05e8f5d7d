"""The WhatsApp stream type's pages for people: its actions outside the side panel's tabs,
and the help page that WhatsApp Settings links to. (Meta's callback is in ``inbound/urls.py``, a
path that skips the browser's middleware.)"""

from django.urls import path

from whatsapp.console import actions, export

urlpatterns = [
    path(
        "streams/<uuid:uid>/whatsapp/callback-url/",
        actions.callback_key_rotate,
        name="whatsapp_callback_key_rotate",
    ),
    path(
        "streams/<uuid:uid>/whatsapp/callback-url/confirm/",
        actions.callback_key_rotate_confirm,
        name="whatsapp_callback_key_rotate_confirm",
    ),
    path(
        "streams/<uuid:uid>/whatsapp/check/",
        actions.credentials_check,
        name="whatsapp_credentials_check",
    ),
    path(
        "streams/<uuid:uid>/whatsapp/messages.csv",
        export.messages_export,
        name="whatsapp_messages_export",
    ),
    path(
        "help/whatsapp-credentials/",
        actions.credentials_help,
        name="whatsapp_credentials_help",
    ),
]
