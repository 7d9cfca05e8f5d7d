from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

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
        )
    return None, form, True


def _rows_initial(data) -> dict:
    form = WebhookForm(data)
    return {"method": data.get("method", "POST"), "url": data.get("url", ""), "headers": form.rows}


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
    context = {
        "form": form,
        "form_action": form_action,
        "preview": _preview(stream, form),
        "endpoint": WebhookEndpoint.objects.filter(stream=stream).first(),
    }
    return panel.render("webhooks/tab_webhooks.html", context)


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
