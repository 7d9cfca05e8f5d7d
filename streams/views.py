from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from streams import selectors, services, types
from streams.forms import StreamDetailsForm, StreamFilterForm
from streams.models import Stream
from textpeak.accounts import beta
from textpeak.accounts.access import member_required

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


@member_required
def stream_detail(request, uid):
    stream = get_object_or_404(Stream.objects.for_account(request.account), uid=uid)
    return render(request, "streams/detail.html", {"stream": stream})


@member_required
def stream_create(request, type_slug):
    stream_type = types.find(type_slug)
    if stream_type is None:
        raise Http404
    if stream_type.beta_feature:
        beta.require_access(account=request.account, feature=stream_type.beta_feature)
    form = StreamDetailsForm(request.POST or None)
    if form.is_valid():
        stream = services.stream_create_draft(
            account=request.account, type=stream_type.slug, **form.cleaned_data
        )
        messages.success(request, f"Draft “{stream.name}” saved.")
        return redirect("streams:list")
    return render(request, "streams/create.html", {"form": form, "stream_type": stream_type})
