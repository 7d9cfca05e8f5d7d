from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from streams import selectors, services, types
from streams.forms import (
    LIST_ACTIONS,
    ExportPeriodForm,
    StreamDetailsForm,
    StreamFilterForm,
    edit_lists,
)
from streams.models import Stream
from streams.panel import Panel
from streams.wizard import Wizard
from textpeak.accounts import beta
from textpeak.accounts.access import admin_required, member_required

PAGE_SIZE = 25


def _type_options(account):
    """Each registered stream type with what its card in the pop-up offers this account."""
    options = []
    for stream_type in types.all_types():
        option = {"type": stream_type, "granted": True, "last_request": None}
        if stream_type.beta_feature:
            last_request = beta.latest_request(account=account, feature=stream_type.beta_feature)
            option["last_request"] = last_request
            option["granted"] = bool(
                last_request and last_request.status == last_request.Status.APPROVED
            )
        options.append(option)
    return options


def _gated_type(account, slug: str) -> types.StreamType:
    stream_type = types.find(slug)
    if stream_type is None:
        raise Http404
    if stream_type.beta_feature:
        beta.require_access(account=account, feature=stream_type.beta_feature)
    return stream_type


def _stream(request, uid) -> Stream:
    """The member's own stream, or 404: another account's stream does not exist for them."""
    return get_object_or_404(Stream.objects.for_account(request.account), uid=uid)


def gated_stream(request, uid) -> Stream:
    """The member's own stream for its type's pages: 404 as ``_stream`` (or for a type no
    longer registered), 403 while the account lacks the type's beta access (never granted, or
    revoked). Lifecycle actions (disable, delete …) use ``_stream``: an account that lost
    access can still stop and delete its streams."""
    stream = _stream(request, uid)
    _gated_type(request.account, stream.type)
    return stream


@member_required
def stream_list(request):
    form = StreamFilterForm(
        request.GET or None, tag_names=selectors.tag_names(account=request.account)
    )
    filters = form.filters() if form.is_bound else {}
    streams = selectors.stream_list(account=request.account, **filters)
    page = Paginator(streams, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "filtered": bool(filters),
        "query": query.urlencode(),
        "type_options": _type_options(request.account),
    }
    template = "streams/list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#table"
    return render(request, template, context)


@admin_required
def stream_create(request, type_slug):
    stream_type = _gated_type(request.account, type_slug)
    first = stream_type.setup_steps()[0]
    wizard = Wizard(request=request, stream_type=stream_type, stream=None, slug=first.slug)
    return first.view(request, wizard)


@sensitive_post_parameters("access_token", "app_secret", "header_value")
@admin_required
def stream_setup(request, uid, step):
    stream = gated_stream(request, uid)
    stream_type = types.find(stream.type)
    steps = [s.slug for s in stream_type.setup_steps()]
    if step not in steps:
        raise Http404
    if steps.index(step) > stream.setup_progress:
        return redirect(stream.continue_url)
    wizard = Wizard(request=request, stream_type=stream_type, stream=stream, slug=step)
    return wizard.step.view(request, wizard)


def _details_form(stream: Stream | None, data=None, *, complete: bool = False):
    """The details form of a new stream (``None``) or of ``stream``, as saved or as submitted."""
    return StreamDetailsForm(
        data,
        initial=StreamDetailsForm.initial_for(stream) if stream else None,
        complete=complete,
        in_use=stream is not None and not stream.is_draft,
    )


def _list_action(request, stream: Stream | None, *, form_action: str):
    """An Add / remove button of the IP ACL or tags: the updated list (htmx) or the whole form."""
    data, which, error = edit_lists(request.POST)
    in_use = stream is not None and not stream.is_draft
    form = StreamDetailsForm.unbound(data, in_use=in_use)
    if in_use:
        form.initial["is_demo"] = stream.is_demo
    context = {"form": form, "form_action": form_action, "list_error": error, "list_which": which}
    if request.htmx:
        return render(request, f"streams/includes/details_fields.html#{which}", context), context
    return None, context


def details_step(request, wizard: Wizard):
    """Step 1, Stream API Details, shared by every stream type."""
    stream = wizard.stream
    form_action = wizard.url(wizard.step)
    if request.method == "POST" and any(key in request.POST for key in LIST_ACTIONS):
        response, context = _list_action(request, stream, form_action=form_action)
        return response or wizard.render("streams/setup_details.html", context)
    if request.method == "POST":
        form = _details_form(stream, request.POST, complete=wizard.completing)
        if form.is_valid():
            stream = services.stream_save_details(
                account=request.account,
                stream=stream,
                type=wizard.stream_type.slug,
                **form.details(),
            )
            return wizard.saved(stream)
    else:
        form = _details_form(stream)
    return wizard.render("streams/setup_details.html", {"form": form, "form_action": form_action})


def _details_url(url: str) -> str:
    """The URL the tag buttons post to, if it is one of the details forms, else nothing."""
    try:
        match = resolve(url)
    except Resolver404:
        return ""
    return url if match.view_name in DETAILS_FORMS else ""


DETAILS_FORMS = ("streams:create", "streams:setup", "streams:detail")


@admin_required
@require_GET
def tag_suggestions(request):
    """The Tags field's drop-down: the account's matching tags, and an offer to create one."""
    query = request.GET.get("tag_query", "").strip()
    chosen = {name.lower() for name in request.GET.getlist("tag_names")}
    names = selectors.tag_names(account=request.account, containing=query)
    exists = query.lower() in chosen or any(name.lower() == query.lower() for name in names)
    context = {
        "matches": [name for name in names if name.lower() not in chosen][:8],
        "new_tag": query if query and not exists else "",
        "form_action": _details_url(request.GET.get("form_action", "")),
    }
    return render(request, "streams/includes/details_fields.html#suggestions", context)


@sensitive_post_parameters("access_token", "header_value")
@member_required
def stream_panel(request, uid, tab=None):
    stream = gated_stream(request, uid)
    stream_type = types.find(stream.type)
    slugs = [t.slug for t in stream_type.panel_tabs()]
    if tab is None:
        tab = slugs[0]
    elif tab not in slugs or tab == slugs[0]:
        raise Http404
    panel = Panel(request=request, stream=stream, stream_type=stream_type, slug=tab)
    return panel.tab.view(request, panel)


def info_tab(request, panel: Panel):
    """Info: the stream's details, editable in place, its message statistics and charts, and
    the export of a period's messages."""
    stream = panel.stream
    form_action = panel.current_url
    stream_type = types.find(stream.type)
    context = {
        "statistics": selectors.message_statistics(stream=stream),
        "charts": stream_type.message_charts(stream),
        "export_url": stream_type.message_export_url(stream),
        "export_form": ExportPeriodForm(),
    }
    if request.method == "POST" and any(key in request.POST for key in LIST_ACTIONS):
        response, list_context = _list_action(request, stream, form_action=form_action)
        return response or panel.render("streams/tab_info.html", {**context, **list_context})
    if request.method == "POST":
        form = _details_form(stream, request.POST)
        if form.is_valid():
            services.stream_save_details(account=request.account, stream=stream, **form.details())
            messages.success(request, "Details saved.")
            if not panel.in_drawer:
                return redirect(form_action)
            form = _details_form(stream)
    else:
        form = _details_form(stream)
    context.update(form=form, form_action=form_action)
    return panel.render("streams/tab_info.html", context)


def back_to_list(request, message: str) -> HttpResponse:
    """To the streams list with a message, from a plain or an htmx request."""
    messages.success(request, message)
    return _to_list(request)


def _to_list(request) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(reverse("streams:list"))
    return redirect("streams:list")


@admin_required
@require_POST
def stream_disable(request, uid):
    stream = _stream(request, uid)
    if not services.stream_disable(stream=stream):
        return HttpResponse("Only a Ready stream can be disabled.", status=409)
    return back_to_list(
        request, f"“{stream.name}” is disabled: its token is refused until you enable it."
    )


@admin_required
@require_POST
def stream_enable(request, uid):
    stream = _stream(request, uid)
    try:
        enabled = services.stream_enable(stream=stream)
    except services.NotReady as problem:
        messages.error(request, f"“{stream.name}” stays disabled: {problem}")
        return _to_list(request)
    if not enabled:
        return HttpResponse("Only a Disabled stream can be enabled.", status=409)
    return back_to_list(request, f"“{stream.name}” is enabled.")


def _confirm(request, stream, *, template: str) -> HttpResponse:
    if request.htmx:
        template += "#dialog"
    return render(request, template, {"stream": stream})


@admin_required
def stream_token_regenerate(request, uid):
    stream = _stream(request, uid)
    if stream.is_draft:
        raise Http404
    if request.method != "POST":
        return _confirm(request, stream, template="streams/confirm_regenerate.html")
    token = services.stream_token_regenerate(
        stream=stream, keep_old="keep_old_token" in request.POST
    )
    if token is None:
        raise Http404
    return token_response(request, stream, token=token, created=False)


@admin_required
def stream_delete(request, uid):
    stream = _stream(request, uid)
    if request.method != "POST":
        return _confirm(request, stream, template="streams/confirm_delete.html")
    if not services.stream_delete(stream=stream):
        raise Http404
    revoked = "" if stream.is_draft else " Its token no longer works."
    return back_to_list(request, f"“{stream.name}” was deleted.{revoked}")


def token_response(request, stream: Stream, *, token: str, created: bool) -> HttpResponse:
    """The pop-up (or, without JavaScript, the page) that shows a new token, once."""
    template = "streams/token.html"
    if request.htmx:
        template += "#dialog"
    response = render(request, template, {"stream": stream, "token": token, "created": created})
    # The token is in this response only: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response
