"""Meta's callback URL, under /webhooks/whatsapp/: one per stream, named by a secret key that
no log line shows."""

import logging
import re

from django.urls import path

from whatsapp.inbound import callback

app_name = "whatsapp"
urlpatterns = [
    # Any text: an old /<stream uid>/ URL, or a rotated key, is answered like an unknown one.
    path("<str:key>/", callback.callback, name="callback"),
]

# The URL's key in a logged path (this URLconf is included at /webhooks/whatsapp/).
_KEY_IN_PATH = re.compile(r"(/webhooks/whatsapp/)[^/\s\"?]+")


class HideCallbackKeys(logging.Filter):
    """Django logs the path of each refused request (runserver of every request): the key in a
    callback URL's is replaced, since it is the secret that names the stream."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _KEY_IN_PATH.sub(r"\1<key>", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


for _name in ("django.request", "django.server"):
    logging.getLogger(_name).addFilter(HideCallbackKeys())
