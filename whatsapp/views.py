import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from streams import services as stream_services
from streams import types
from streams.models import Stream
from streams.panel import Panel
from streams.services import NotReady
from streams.views import back_to_list, gated_stream, token_response
from streams.wizard import BACK, Wizard
from textpeak.accounts.access import admin_required
from textpeak.lib import misses
from textpeak.lib.local_cache import LocalCache
from webhooks.services import webhook_preview
from whatsapp import inbound, services
from whatsapp.api_examples import api_examples
from whatsapp.client import GraphError
from whatsapp.demo import DEMO_BUSINESS_ID
from whatsapp.forms import SenderRateForm, UpdateTokenForm, WhatsAppSettingsForm
from whatsapp.models import WhatsAppAccount

TAB = "whatsapp"


def _account(stream: Stream) -> WhatsAppAccount | None:
    return WhatsAppAccount.objects.filter(stream=stream).first()


def _refresh(account: WhatsAppAccount) -> str:
    """Check the account with WhatsApp and cache its senders and templates; '' or the error."""
    try:
        services.whatsapp_account_refresh(account=account)
    except GraphError as error:
        return services.describe_error(error, business_id=account.business_id)
    return ""


def whatsapp_step(request, wizard: Wizard):
    """Step 2, WhatsApp Settings: Save & Next checks the credentials with the Cloud API."""
    stream = wizard.stream
    account = _account(stream)
    form = WhatsAppSettingsForm(
        request.POST or None,
        initial={"business_id": account.business_id} if account else None,
        account=account,
        complete=wizard.completing and not stream.is_demo,
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        if stream.is_demo:
            account = services.whatsapp_settings_save(stream=stream, business_id=DEMO_BUSINESS_ID)
            error = _refresh(account) if wizard.completing else ""
        elif wizard.editing and account is not None:
            # A stream in use keeps its working settings until WhatsApp accepts new ones, so
            # Back leaves them as they are.
            if wizard.action == BACK:
                return wizard.saved(stream)
            error = services.whatsapp_settings_replace(account=account, **form.cleaned_data)
        else:
            account = services.whatsapp_settings_save(stream=stream, **form.cleaned_data)
            error = _refresh(account) if wizard.completing else ""
        if not error:
            return wizard.saved(stream)
        # A draft keeps what was typed (secrets encrypted), so trying again needs no retyping.
        account.refresh_from_db()
        form = WhatsAppSettingsForm(
            initial={"business_id": form.cleaned_data.get("business_id", "")}, account=account
        )
    context = {"form": form, "account": account, "check_error": error}
    return wizard.render("whatsapp/setup_whatsapp.html", context)


def _summary_context(stream: Stream) -> dict:
    account = _account(stream)
    return {
        "account": account,
        "senders": account.senders.all() if account else [],
        "templates": account.templates.all() if account else [],
        "webhook": webhook_preview(stream=stream),
        "examples": api_examples(stream),
    }


def _create(request, wizard: Wizard, account: WhatsAppAccount | None):
    """Create Stream: the draft becomes Ready and its token is shown once."""
    stream = wizard.stream
    if account is None or not account.verified_at:
        raise NotReady("Check the WhatsApp Settings with Save & Next before creating the stream.")
    token = stream_services.stream_activate(stream=stream, steps_done=wizard.number)
    if token is None:
        return back_to_list(request, f"“{stream.name}” was already created.")
    services.whatsapp_account_register_callback(account=account)
    return token_response(request, stream, token=token, created=True)


def summary_step(request, wizard: Wizard):
    """Step 4, Stream Summary: everything entered, what WhatsApp reports, and Create Stream."""
    stream = wizard.stream
    error = refresh_error = ""
    if request.method == "POST":
        account = _account(stream)
        if "refresh" in request.POST:
            refresh_error = _refresh(account) if account else ""
        elif wizard.editing:
            return wizard.saved(stream)
        else:
            try:
                return _create(request, wizard, account)
            except NotReady as problem:
                error = str(problem)
            if request.htmx:
                page = render(request, "whatsapp/setup_summary.html#create-error", {"error": error})
                return reswap(retarget(page, "#create-error"), "outerHTML")
    context = {**_summary_context(stream), "refresh_error": refresh_error, "error": error}
    return wizard.render("whatsapp/setup_summary.html", context)


def whatsapp_tab(request, panel: Panel):
    """WhatsApp: the Business Account, senders, templates, Refresh, Update token, callback."""
    stream = panel.stream
    account = _account(stream)
    token_form = UpdateTokenForm()
    error = ""
    if request.method == "POST" and account is not None:
        if "refresh" in request.POST:
            error = _refresh(account)
            if not error:
                messages.success(request, "Senders and templates refreshed from WhatsApp.")
        elif "register_callback" in request.POST:
            services.whatsapp_account_register_callback(account=account)
        elif "demo_replies" in request.POST and stream.is_demo:
            services.demo_replies_set(account=account, enabled=request.POST["demo_replies"] == "on")
            messages.success(request, "Saved.")
        elif "sender_rate" in request.POST:
            rate_form = SenderRateForm(request.POST, account=account)
            if rate_form.is_valid():
                services.sender_rate_set(**rate_form.cleaned_data)
                messages.success(request, "Sending rate saved.")
            else:
                error = " ".join(rate_form.errors.get("messages_per_second", [])) or (
                    "That sender is not one of this stream's."
                )
        elif not stream.is_demo:
            token_form = UpdateTokenForm(request.POST)
            if token_form.is_valid():
                error = services.whatsapp_settings_replace(
                    account=account,
                    business_id=account.business_id,
                    access_token=token_form.cleaned_data["access_token"],
                )
                if not error:
                    messages.success(request, "Token updated and checked with WhatsApp.")
                    token_form = UpdateTokenForm()
        if not error and not token_form.errors and not panel.in_drawer:
            return redirect(panel.current_url)
    return _whatsapp_tab(panel, account, token_form=token_form, error=error)


def _whatsapp_tab(
    panel: Panel,
    account: WhatsAppAccount | None,
    *,
    token_form: UpdateTokenForm | None = None,
    error: str = "",
):
    context = {
        **_summary_context(panel.stream),
        "token_form": UpdateTokenForm() if token_form is None else token_form,
        "error": error,
        "callback_url": services.callback_url(account) if account else "",
        # Members see each sender's rate; admins change it in place.
        "rate_form_action": panel.current_url if panel.request.member.is_admin else "",
    }
    return panel.render("whatsapp/tab_whatsapp.html", context)


def _own_account(request, uid) -> WhatsAppAccount:
    """The WhatsApp account of the member's own stream, or 404 (403 without the access)."""
    stream = gated_stream(request, uid)
    return get_object_or_404(WhatsAppAccount.objects.select_related("stream"), stream=stream)


@admin_required
@require_GET
def callback_key_rotate_confirm(request, uid):
    """The confirmation of New callback URL as its own page, for browsers without JavaScript
    (with it, the WhatsApp tab opens the same form as a pop-up)."""
    account = _own_account(request, uid)
    context = {"stream": account.stream, "account": account}
    return render(request, "whatsapp/confirm_rotate_callback.html", context)


@admin_required
@require_POST
def callback_key_rotate(request, uid):
    """New callback URL: the old one stops answering; Meta is given the new one."""
    account = _own_account(request, uid)
    services.whatsapp_account_rotate_callback_key(account=account)
    messages.success(request, "New callback URL: Meta's webhooks reach the stream only there.")
    stream = account.stream
    panel = Panel(request=request, stream=stream, stream_type=types.find(stream.type), slug=TAB)
    if panel.in_drawer:
        return _whatsapp_tab(panel, account)
    if request.htmx:
        return HttpResponseClientRedirect(panel.current_url)
    return redirect(panel.current_url)


@login_not_required
@require_safe
def credentials_help(request):
    """How to get a WhatsApp Business ID, a permanent token and the app secret from Meta:
    linked from the WhatsApp Settings step, readable before logging in."""
    return render(request, "whatsapp/help_credentials.html")


def api_tab(request, panel: Panel):
    """Request API: copyable send API calls for this stream."""
    return panel.render("whatsapp/tab_api.html", _summary_context(panel.stream))


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
    if account.stream.deleted_at:
        return _plain(NO_STREAM, 404)
    if account.stream.is_demo:
        # A demo stream's statuses and replies are made inside TextPeak (whatsapp.tasks) and
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
    if not inbound.signature_valid(
        app_secret=app_secret, body=body, header=request.headers.get("X-Hub-Signature-256", "")
    ):
        return _plain("Invalid signature", 403)
    if not account.verified_at:
        # Until WhatsApp has confirmed the stream's Business ID, its callback speaks for nobody.
        return _plain("This stream's WhatsApp settings are not checked yet", 403)
    try:
        inbound.parse(body)
    except inbound.MalformedPayload as problem:
        return _plain(f"Malformed webhook: {problem}"[:500], 400)
    # Kept as it came, answered, and stored by a worker: Meta waits for nothing else.
    inbound.payload_keep(stream=account.stream, body=body)
    return _plain("OK")
