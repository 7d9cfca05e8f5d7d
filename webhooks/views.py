from typing import NamedTuple

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from streams import types
from streams.models import Stream
from streams.panel import Panel
from streams.views import gated_stream
from streams.wizard import SKIP, Wizard
from textpeak.accounts.access import admin_required
from webhooks import services
from webhooks.builder import WebhookRequest
from webhooks.forms import ROW_ACTIONS, WebhookForm, edit_rows
from webhooks.models import WebhookEndpoint

FIELDS = "webhooks/includes/webhook_fields.html"
TEST_RESULT = "webhooks/tab_webhooks.html#test-result"
TAB = "webhooks"


def _form(stream: Stream, data=None, *, initial=None, complete: bool = False) -> WebhookForm:
    """The stream's webhook form (the saved webhook's when neither ``data`` nor ``initial``
    is given), holding the saved header values it keeps for rows left blank."""
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    if data is None and initial is None:
        initial = WebhookForm.initial_for(endpoint)
    return WebhookForm(
        data,
        initial=initial,
        saved_headers=endpoint.headers() if endpoint else [],
        complete=complete,
    )


def _preview(stream: Stream, form: WebhookForm) -> WebhookRequest | None:
    """The request a submitted form describes once it is valid, or the saved webhook's, with
    the saved header values masked (a value typed into the form shows as typed)."""
    if not form.is_bound:
        saved = services.webhook_preview(stream=stream)
        return saved.masked(signature=False) if saved else None
    if not form.is_valid() or not form.cleaned_data["url"]:
        return None
    data = form.cleaned_data
    described = services.preview_request(
        stream=stream, method=data["method"], url=data["url"], headers=data["headers"]
    )
    return described.masked(only=data["kept_headers"], signature=False)


def _no_store(response: HttpResponse) -> HttpResponse:
    """For each response with the webhook form or a signing secret: what the user typed into
    the form, or a secret, is kept by no cache (the browser's back button included)."""
    add_never_cache_headers(response)
    return response


class _Submission(NamedTuple):
    response: HttpResponse | None
    form: WebhookForm
    saved: bool = False
    # The signing secret of the webhook this submission created: shown in this response only.
    new_secret: str = ""


def _submitted(request, stream: Stream, *, form_action: str, complete: bool) -> _Submission:
    """Handle a POST of the webhook form.

    Add header / remove rebuild the rows without saving (as a partial for htmx); a valid form
    with a URL is saved.
    """
    if any(key in request.POST for key in ROW_ACTIONS):
        form = _form(stream, initial=_rows_initial(stream, edit_rows(request.POST)))
        if request.htmx:
            context = {"form": form, "form_action": form_action}
            return _Submission(_no_store(render(request, f"{FIELDS}#headers", context)), form)
        return _Submission(None, form)
    form = _form(stream, request.POST, complete=complete)
    if not form.is_valid():
        return _Submission(None, form)
    if not form.cleaned_data["url"]:
        return _Submission(None, form, saved=True)
    existed = WebhookEndpoint.objects.filter(stream=stream).exists()
    endpoint = services.webhook_save(
        stream=stream,
        method=form.cleaned_data["method"],
        url=form.cleaned_data["url"],
        headers=form.cleaned_data["headers"],
        send_statuses=form.cleaned_data["send_statuses"],
    )
    return _Submission(
        None, form, saved=True, new_secret="" if existed else endpoint.signing_secret()
    )


def _rows_initial(stream: Stream, data) -> dict:
    form = _form(stream, data)
    return {
        "method": data.get("method", "POST"),
        "url": data.get("url", ""),
        "headers": form.rows,
        "send_statuses": "send_statuses" in data,
    }


def webhook_step(request, wizard: Wizard):
    """Step 3, Incoming Messages Webhook (optional: Skip leaves it as it is)."""
    stream = wizard.stream
    form_action = wizard.url(wizard.step)
    form = _form(stream)
    if request.method == "POST" and wizard.action == SKIP:
        return wizard.saved(stream)
    if request.method == "POST":
        submission = _submitted(
            request, stream, form_action=form_action, complete=wizard.completing
        )
        if submission.response:
            return submission.response
        form = submission.form
        if submission.saved:
            response = wizard.saved(stream)
            if not submission.new_secret:
                return response
            # A new webhook's signing secret is shown this once, before the step it leads to.
            context = {"secret": submission.new_secret, "next_url": response.url}
            return _no_store(wizard.render("webhooks/setup_secret.html", context))
    context = {"form": form, "form_action": form_action, "preview": _preview(stream, form)}
    return _no_store(wizard.render("webhooks/setup_webhook.html", context))


def webhooks_tab(request, panel: Panel):
    """Webhooks: the Incoming Messages Webhook's settings, editable, with the live preview."""
    stream = panel.stream
    form = _form(stream)
    if request.method == "POST":
        submission = _submitted(request, stream, form_action=panel.current_url, complete=True)
        if submission.response:
            return submission.response
        form = submission.form
        if submission.saved:
            messages.success(request, "Webhook saved.")
            if submission.new_secret:
                return _tab(request, panel, new_secret=submission.new_secret)
            if not panel.in_drawer:
                return redirect(panel.current_url)
            form = _form(stream)
    return _tab(request, panel, form)


def _tab(request, panel: Panel, form: WebhookForm | None = None, *, new_secret: str = ""):
    """The Webhooks tab; ``new_secret`` is the signing secret just created or rotated, shown
    in this response only (afterwards the tab shows it masked, with Rotate)."""
    stream = panel.stream
    if form is None:
        form = _form(stream)
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    preview = _preview(stream, form)
    if preview and not request.member.is_admin:
        # Members see the webhook but not its credentials (nor edit it: no form is shown).
        preview = preview.masked()
    context = {
        "form": form,
        "form_action": panel.current_url,
        "preview": preview,
        "endpoint": endpoint,
        "deliveries": _log(request, endpoint),
        "new_secret": new_secret,
    }
    return _no_store(panel.render("webhooks/tab_webhooks.html", context))


LOG_PAGE_SIZE = 20


def _log(request, endpoint: WebhookEndpoint | None):
    """The delivery log, newest first, each delivery with its attempts."""
    if endpoint is None:
        return None
    deliveries = endpoint.deliveries.order_by("-created_at", "-id").prefetch_related("attempts_log")
    return Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("log"))


def _endpoint(request, uid) -> WebhookEndpoint:
    """The member's own stream's webhook, or 404."""
    stream = gated_stream(request, uid)
    return get_object_or_404(WebhookEndpoint.objects.select_related("stream"), stream=stream)


def _back_to_tab(
    request, stream: Stream, message: str, *, new_secret: str = "", level: int = messages.SUCCESS
):
    """The Webhooks tab after an action, with ``message``: redrawn in place in the side panel
    when the action was taken there (and when a new secret must be shown), else reached by a
    redirect."""
    messages.add_message(request, level, message)
    panel = Panel(request=request, stream=stream, stream_type=types.find(stream.type), slug=TAB)
    if panel.in_drawer or new_secret:
        return _tab(request, panel, new_secret=new_secret)
    if request.htmx:
        return HttpResponseClientRedirect(panel.current_url)
    return redirect(panel.current_url)


def _confirm(request, uid, *, template: str) -> HttpResponse:
    """The confirmation of a destructive action as its own page, for browsers without
    JavaScript (with it, the tab opens the same form as a pop-up)."""
    endpoint = _endpoint(request, uid)
    return render(request, template, {"stream": endpoint.stream, "endpoint": endpoint})


@admin_required
@require_POST
def webhook_test(request, uid):
    """Test webhook: a sample event sent now, its result shown inline."""
    endpoint = _endpoint(request, uid)
    try:
        attempt = services.webhook_test(endpoint=endpoint)
    except services.TestRefused as refusal:
        if not request.htmx:
            return _back_to_tab(request, endpoint.stream, str(refusal), level=messages.ERROR)
        # A 200 all the same: htmx swaps no error answer in, and this one is for the user to
        # read where the test's result would have been.
        return render(request, TEST_RESULT, {"refusal": str(refusal)})
    if not request.htmx:
        return _back_to_tab(request, endpoint.stream, _test_summary(attempt))
    return render(request, TEST_RESULT, {"attempt": attempt})


def _test_summary(attempt) -> str:
    if attempt.status_code:
        return (
            f"Test webhook: your server answered {attempt.status_code} in {attempt.duration_ms} ms."
        )
    return f"Test webhook failed: {attempt.error}"


@admin_required
@require_POST
def delivery_redeliver(request, uid, delivery):
    endpoint = _endpoint(request, uid)
    original = get_object_or_404(endpoint.deliveries, uid=delivery)
    services.delivery_redeliver(delivery=original)
    return _back_to_tab(
        request, endpoint.stream, "Sent again as a new delivery, at the top of the log."
    )


@admin_required
@require_GET
def webhook_rotate_secret_confirm(request, uid):
    return _confirm(request, uid, template="webhooks/confirm_rotate_secret.html")


@admin_required
@require_POST
def webhook_rotate_secret(request, uid):
    endpoint = _endpoint(request, uid)
    services.webhook_rotate_secret(endpoint=endpoint)
    until = date_format(timezone.localtime(endpoint.previous_secret_expires_at), "j M Y, H:i e")
    return _back_to_tab(
        request,
        endpoint.stream,
        "New signing secret: deliveries are signed with it from now on, and with the old one "
        f"too until {until}.",
        new_secret=endpoint.signing_secret(),
    )


@admin_required
@require_POST
def webhook_enable(request, uid):
    endpoint = _endpoint(request, uid)
    services.webhook_enable(endpoint=endpoint)
    return _back_to_tab(
        request, endpoint.stream, "Webhook enabled: new messages are delivered again."
    )


@admin_required
@require_POST
def webhook_preview(request, uid):
    """The request preview beside the form, redrawn as the user types."""
    stream = gated_stream(request, uid)
    form = _form(stream, request.POST)
    context = {"form": form, "preview": _preview(stream, form), "stream": stream}
    return _no_store(render(request, f"{FIELDS}#preview", context))


@admin_required
@require_GET
def webhook_remove_confirm(request, uid):
    return _confirm(request, uid, template="webhooks/confirm_remove.html")


@admin_required
@require_POST
def webhook_remove(request, uid):
    stream = gated_stream(request, uid)
    services.webhook_delete(stream=stream)
    return _back_to_tab(
        request, stream, "Webhook removed: incoming messages are no longer forwarded."
    )
