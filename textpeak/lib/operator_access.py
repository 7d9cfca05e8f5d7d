"""Who may read what operators read (/metrics, /healthz?detail): the holder of
``METRICS_TOKEN`` as a bearer token, or a client at one of ``METRICS_ALLOWED_IPS``.

The address is ``textpeak.lib.client_ip``'s, so ``X-Forwarded-For`` counts only from
``TRUSTED_PROXIES``. With neither setting, nobody may.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from textpeak.lib.client_ip import client_ip


def _token_matches(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _address_allowed(request: HttpRequest) -> bool:
    if not settings.METRICS_ALLOWED_IPS:
        return False
    try:
        ip = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(ip in network for network in settings.METRICS_ALLOWED_IPS)


def operator_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read, else the answer to give it.

    403 and not 404: the paths are in the README, so a 404 would hide nothing, and the
    operator whose scrape fails is told it is the token or the address, not the URL."""
    if _token_matches(request) or _address_allowed(request):
        return None
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS:
        reason = "Closed: set METRICS_TOKEN or METRICS_ALLOWED_IPS to open it."
    else:
        reason = "A bearer token (METRICS_TOKEN) or an address in METRICS_ALLOWED_IPS is needed."
    return HttpResponse(reason, status=403, content_type="text/plain")
