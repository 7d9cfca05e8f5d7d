"""Meta's callback URL, under /webhooks/whatsapp/: one per stream, named by a secret key that
no log line shows (``whatsapp.inbound.paths``)."""

import logging

from django.urls import path

from whatsapp.inbound import callback
from whatsapp.inbound.paths import HideCallbackKeys

app_name = "whatsapp"
urlpatterns = [
    # Any text: an old /<stream uid>/ URL, or a rotated key, is answered like an unknown one.
    path("<str:key>/", callback.callback, name="callback"),
]

for _name in ("django.request", "django.server"):
    logging.getLogger(_name).addFilter(HideCallbackKeys())
