"""Meta's callback URL, under /webhooks/whatsapp/: one per stream, named by a secret key."""

from django.urls import path

from whatsapp.inbound import callback

app_name = "whatsapp"
urlpatterns = [
    # Any text: an old /<stream uid>/ URL, or a rotated key, is answered like an unknown one.
    path("<str:key>/", callback.callback, name="callback"),
]
