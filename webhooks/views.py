from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from streams.models import Stream
from streams.panel import Panel
from streams.wizard import SKIP, Wizard
from textpeak.accounts.access import member_required
from webhooks import services
from webhooks.builder import WebhookRequest
from webhooks.forms import ROW_ACTIONS, WebhookForm, edit_rows
from webhooks.models import WebhookEndpoint

FIELDS = "webhooks/includes/webhook_fields.html"


def _saved_form(stream: Stream) -> WebhookForm:
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    return WebhookForm(initial=WebhookForm.initial_for(endpoint))


def _preview(stream: Stream, form: WebhookForm) -> WebhookRequest | None:
    """The request a submitted form describes once it is valid, or the saved webhook's."""
    if not form.is_bound:
        return services.webhook_preview(stream=stream)
    if not form.is_valid() or not form.cleaned_data["url"]:
        return None
    data = form.cleaned_data
    return services.preview_request(
        stream=stream, method=data["method"], url=data["url"], headers=data["headers"]
    )


def _submitted(request, stream: Stream, *, form_action: str, complete: bool):
    """Handle a POST of the webhook form: ``(response, form, saved)``.

    Add header / remove rebuild the rows without saving (as a partial for htmx); a valid form
    with a URL is saved.
    """
    if any(key in request.POST for key in ROW_ACTIONS):
        form = WebhookForm(initial=_rows_initial(edit_rows(request.POST)))
        if request.htmx:
            context = {"form": form, "form_action": form_action}
            return render(request, f"{FIELDS}#headers", context), form, False
        return None, form, False
    form = WebhookForm(request.POST, complete=complete)
    if not form.is_valid():
        return None, form, False
    if form.cleaned_data["url"]:
        services.webhook_save(
            stream=stream,
            method=form.cleaned_data["method"],
            url=form.cleaned_data["url"],
            headers=form.cleaned_data["headers"],
            send_statuses=form.cleaned_data["send_statuses"],
        )
    return None, form, True


def _rows_initial(data) -> dict:
    form = WebhookForm(data)
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
    form = _saved_form(stream)
    if request.method == "POST" and wizard.action == SKIP:
        return wizard.saved(stream)
    if request.method == "POST":
        response, form, saved = _submitted(
            request, stream, form_action=form_action, complete=wizard.completing
        )
        if response:
            return response
        if saved:
            return wizard.saved(stream)
    context = {"form": form, "form_action": form_action, "preview": _preview(stream, form)}
    return wizard.render("webhooks/setup_webhook.html", context)


def webhooks_tab(request, panel: Panel):
    """Webhooks: the Incoming Messages Webhook's settings, editable, with the live preview."""
    stream = panel.stream
    form_action = panel.current_url
    form = _saved_form(stream)
    if request.method == "POST":
        response, form, saved = _submitted(request, stream, form_action=form_action, complete=True)
        if response:
            return response
        if saved:
            messages.success(request, "Webhook saved.")
            if not panel.in_drawer:
                return redirect(form_action)
            form = _saved_form(stream)
    endpoint = WebhookEndpoint.objects.filter(stream=stream).first()
    context = {
        "form": form,
        "form_action": form_action,
        "preview": _preview(stream, form),
        "endpoint": endpoint,
        "deliveries": _log(request, endpoint),
    }
    return panel.render("webhooks/tab_webhooks.html", context)


LOG_PAGE_SIZE = 20


def _log(request, endpoint: WebhookEndpoint | None):
    """The delivery log, newest first, each delivery with its attempts."""
    if endpoint is None:
        return None
    deliveries = endpoint.deliveries.order_by("-created_at", "-id").prefetch_related("attempts_log")
    return Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("log"))


def _endpoint(request, uid) -> WebhookEndpoint:
    """The member's own stream's webhook, or 404."""
    stream = get_object_or_404(Stream.objects.for_account(request.account), uid=uid)
    return get_object_or_404(WebhookEndpoint.objects.select_related("stream"), stream=stream)


def _back_to_tab(request, endpoint: WebhookEndpoint, message: str):
    messages.success(request, message)
    url = reverse("streams:tab", args=[endpoint.stream.uid, "webhooks"])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@member_required
@require_POST
def webhook_test(request, uid):
    """Test webhook: a sample event sent now, its result shown inline."""
    endpoint = _endpoint(request, uid)
    attempt = services.webhook_test(endpoint=endpoint)
    template = "webhooks/tab_webhooks.html#test-result"
    if not request.htmx:
        return _back_to_tab(request, endpoint, _test_summary(attempt))
    return render(request, template, {"attempt": attempt})


def _test_summary(attempt) -> str:
    if attempt.status_code:
        return (
            f"Test webhook: your server answered {attempt.status_code} in {attempt.duration_ms} ms."
        )
    return f"Test webhook failed: {attempt.error}"


@member_required
@require_POST
def delivery_redeliver(request, uid, delivery):
    endpoint = _endpoint(request, uid)
    original = get_object_or_404(endpoint.deliveries, uid=delivery)
    services.delivery_redeliver(delivery=original)
    return _back_to_tab(request, endpoint, "Sent again as a new delivery, at the top of the log.")


@member_required
@require_POST
def webhook_rotate_secret(request, uid):
    endpoint = _endpoint(request, uid)
    services.webhook_rotate_secret(endpoint=endpoint)
    return _back_to_tab(
        request, endpoint, "New signing secret: deliveries are signed with it from now on."
    )


@member_required
@require_POST
def webhook_enable(request, uid):
    endpoint = _endpoint(request, uid)
    services.webhook_enable(endpoint=endpoint)
    return _back_to_tab(request, endpoint, "Webhook enabled: new messages are delivered again.")


@member_required
@require_POST
def webhook_preview(request, uid):
    """The request preview beside the form, redrawn as the user types."""
    stream = get_object_or_404(Stream.objects.for_account(request.account), uid=uid)
    form = WebhookForm(request.POST)
    context = {"form": form, "preview": _preview(stream, form), "stream": stream}
    return render(request, f"{FIELDS}#preview", context)


@member_required
@require_POST
def webhook_remove(request, uid):
    stream = get_object_or_404(Stream.objects.for_account(request.account), uid=uid)
    services.webhook_delete(stream=stream)
    messages.success(request, "Webhook removed: incoming messages are no longer forwarded.")
    return redirect("streams:tab", stream.uid, "webhooks")
