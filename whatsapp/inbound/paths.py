"""A callback URL's key hidden in the paths that logs show: the key is the secret that names
a stream to Meta's webhooks. Without Django, so that gunicorn's access log can use it too."""

import logging
import re

# whatsapp.inbound.urls is included at /webhooks/whatsapp/.
_KEY_IN_PATH = re.compile(r"(/webhooks/whatsapp/)[^/\s\"?]+")


def hide_key(text: str) -> str:
    return _KEY_IN_PATH.sub(r"\1<key>", text)


class HideCallbackKeys(logging.Filter):
    """Django logs the path of each refused request (runserver of every request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                hide_key(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
