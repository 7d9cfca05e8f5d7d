"""Every request's id: the one a trusted proxy sent in ``X-Request-ID``, else a new one.

It is in every log line written for the request, and in the tasks the request publishes, and
goes back to the client in the response's ``X-Request-ID``. A client's own header is believed
only from ``TRUSTED_PROXIES`` (as ``X-Forwarded-For`` is), and only when it is short and of
plain characters, so nobody can write into another request's lines or into the log's layout.
"""

import re
import uuid

from django.core.signals import request_finished
from django.dispatch import receiver

from textpeak import logcontext
from textpeak.lib.client_ip import from_trusted_proxy

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_VALID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def request_id(request) -> str:
    """The id a trusted proxy gave the request, or a new one."""
    given = request.META.get(_META_KEY, "")
    if given and _VALID.fullmatch(given) and from_trusted_proxy(request):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request_id(request)
        logcontext.start({"request_id": given})
        response = self.get_response(request)
        response[HEADER] = given
        return response


@receiver(request_finished)
def _forget_ids(**kwargs) -> None:
    # Not at the end of the middleware: Django logs a refused request's line after it.
    logcontext.clear()
