"""Meta's callback URL: the one door of Meta's webhooks, and every check made at it.

A request names its stream by the URL's secret key; the checks follow in order, each cheaper
than the next: guessing, unknown key, deleted or demo stream, size, signature, the account
checked with WhatsApp, the body's shape. What passes is kept in one INSERT and answered 200;
a worker stores it (``whatsapp.inbound.payloads``).
"""

import hashlib
import hmac
import uuid

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_http_methods,
)

from textpeak import logcontext
from textpeak.lib import misses
from textpeak.lib.local_cache import LocalCache
from whatsapp import services
from whatsapp.inbound.parse import MalformedPayload, parse
from whatsapp.inbound.payloads import payload_keep
from whatsapp.models import WhatsAppAccount

SIGNATURE_PREFIX = "sha256="


def signature_valid(*, app_secret: str, body: bytes, header: str) -> bool:
    """Meta's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""
    expected = SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


# Meta's webhook bodies reach about 3 MB, above DATA_UPLOAD_MAX_MEMORY_SIZE (which guards
# request.body), so the callback reads the raw body itself, up to this.
CALLBACK_MAX_BODY_BYTES = 3 * 1024 * 1024


# Meta posts to a stream's callback many times a second: its account and app secret are
# kept a few seconds in each process, as the send API keeps a token's stream. The secret is
# kept decrypted, as decrypting it on every callback would be much of a callback's work.
# Entries are keyed by the URL's secret key, so a rotated key stops answering when its entry
# expires (API_CACHE_SECONDS), and a saved app secret is used from then on.
_callback_accounts = LocalCache()


NO_STREAM = "No stream has this callback URL: copy it again from the stream's WhatsApp tab."


# The misses of unknown callback URLs, counted per address (textpeak.lib.misses).
CALLBACK_MISSES = "callback"


def _callback_account(key: str) -> tuple[WhatsAppAccount, str] | None:
    # A deleted stream's account is found too: Meta goes on calling its URL, from the addresses
    # it calls every stream's from, and those calls must not count as guesses.
    account = WhatsAppAccount.objects.select_related("stream").filter(callback_key=key).first()
    return None if account is None else (account, account.app_secret())


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def callback(request, key):
    """Meta's callback URL. GET answers Meta's verification of the URL with hub.challenge;
    POST receives Meta's webhooks: checked, parsed, kept in one INSERT, then 200."""
    if wait := misses.blocked(request, kind=CALLBACK_MISSES):
        return _guessing(wait)
    if _is_uuid(key):
        # A URL of the old form (/<stream uid>/), which Meta may call until the stream's new URL
        # is registered: no key has this form, so it is refused without a query and, coming
        # from Meta's addresses, is not counted as a guess.
        return _plain(NO_STREAM, 404)
    found = _callback_accounts.get(key, lambda: _callback_account(key))
    if found is None:
        if wait := misses.missed(request, kind=CALLBACK_MISSES):
            return _guessing(wait)
        return _plain(NO_STREAM, 404)
    account, app_secret = found
    logcontext.bind(stream_uid=account.stream.uid)
    if account.stream.deleted_at:
        return _plain(NO_STREAM, 404)
    if account.stream.is_demo:
        # A demo stream's statuses and replies are made inside TextPeak (whatsapp.graph.demo) and
        # stored without HTTP: whatever reaches its callback comes from someone else.
        return _plain("A Demo Sending stream takes no webhooks", 403)
    if request.method == "POST":
        return _receive(request, account, app_secret)
    if request.GET.get("hub.mode") != "subscribe" or not services.verify_token_matches(
        account=account, token=request.GET.get("hub.verify_token", "")
    ):
        return HttpResponseForbidden("Verification token mismatch", content_type="text/plain")
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")


def _is_uuid(key: str) -> bool:
    try:
        uuid.UUID(key)
    except ValueError:
        return False
    return True


def _plain(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain")


def _guessing(wait: int) -> HttpResponse:
    response = _plain(f"Too many requests for unknown callback URLs: retry after {wait} s", 429)
    response["Retry-After"] = str(wait)
    return response


def _receive(request, account: WhatsAppAccount, app_secret: str) -> HttpResponse:
    # Anything but a 200 makes Meta retry for days: only a body that can never be stored is
    # refused, and a malformed one is a 400, never a 500.
    if not app_secret:
        # Nothing could tell Meta's webhooks from anybody's: none is taken until the secret is
        # saved (Meta keeps retrying for days, so what it sent meanwhile still arrives).
        return _plain("This stream has no app secret: save it in its WhatsApp Settings", 403)
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > CALLBACK_MAX_BODY_BYTES:
        return _plain("Payload too large", 413)
    # The raw bytes, read once: the signature covers them exactly as sent.
    body = request.read(CALLBACK_MAX_BODY_BYTES + 1)
    if len(body) > CALLBACK_MAX_BODY_BYTES:
        return _plain("Payload too large", 413)
    if not signature_valid(
        app_secret=app_secret, body=body, header=request.headers.get("X-Hub-Signature-256", "")
    ):
        return _plain("Invalid signature", 403)
    if not account.verified_at:
        # Until WhatsApp has confirmed the stream's Business ID, its callback speaks for nobody.
        return _plain("This stream's WhatsApp settings are not checked yet", 403)
    try:
        parse(body)
    except MalformedPayload as problem:
        return _plain(f"Malformed webhook: {problem}"[:500], 400)
    # Kept as it came, answered, and stored by a worker: Meta waits for nothing else.
    payload_keep(stream=account.stream, body=body)
    return _plain("OK")
