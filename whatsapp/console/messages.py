"""The side panel's Messages tab: the stream's messages, filterable, each with its history."""

import re
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from streams.panel import Panel
from whatsapp import selectors
from whatsapp.models import Message
from whatsapp.outbox.validate import E164
from whatsapp.service_window import contact_windows
from whatsapp.summary import message_summary

PAGE_SIZE = 50
TEMPLATE = "whatsapp/tab_messages.html"
# The element the filters and the page links swap, and the htmx target that asks for it alone.
TABLE_ID = "messages-table"
# Sent by the table's own htmx requests when it is shown in the streams page's drawer, whose
# links must not change the browser's address.
DRAWER_HEADER = "X-Stream-Drawer"


class MessageFilterForm(forms.Form):
    """The filters above the messages table. Plain GET parameters, so a URL can be shared."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All"), *Message.Status.choices]
    )
    direction = forms.ChoiceField(
        label="Direction", required=False, choices=[("", "All"), *Message.Direction.choices]
    )
    number = forms.CharField(
        label="Number",
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Sender or contact number",
                "inputmode": "tel",
                "autocomplete": "off",
            }
        ),
    )

    def __init__(self, *args, **kwargs):
        # Ids of their own: in the drawer the form shares the page with the streams filters.
        kwargs.setdefault("auto_id", "messages-%s")
        super().__init__(*args, **kwargs)

    def clean_number(self) -> str:
        number = selectors.normalize_number(self.cleaned_data["number"])
        if not re.fullmatch(r"[0-9]*", number):
            raise ValidationError("Enter digits of a phone number, like +44 7700 900123.")
        return number

    def filters(self) -> dict[str, str]:
        """The filters that are valid; an invalid one is shown as an error and not applied."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


def messages_tab(request, panel: Panel) -> HttpResponse:
    """Messages: what the stream sent and received, newest first, with each one's history."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    stream = panel.stream
    form = MessageFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    messages = selectors.message_list(stream=stream, **filters)
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page"))
    for message in page:
        message.summary = message_summary(message)
    # Page links keep the filters that apply, and drop any that were refused.
    query = urlencode(filters)
    # A whole number is a contact looked up: its service window is shown above its messages.
    contact = filters.get("number", "")
    window = (
        contact_windows(stream=stream, numbers=[contact])[contact]
        if E164.fullmatch(contact)
        else None
    )
    context = {
        "contact": contact,
        "window": window,
        "form": form,
        "page": page,
        "filtered": bool(filters),
        "page_link": f"{panel.current_url}?{query + '&' if query else ''}page=",
        "in_drawer": panel.in_drawer or request.headers.get(DRAWER_HEADER) == "true",
        "table_id": TABLE_ID,
        "api_url": reverse("streams:tab", args=[stream.uid, "api"]),
    }
    htmx = request.htmx
    if htmx and htmx.target == TABLE_ID and not htmx.history_restore_request:
        context.update(panel=panel, stream=stream)
        response = render(request, f"{TEMPLATE}#table", context)
    else:
        response = panel.render(TEMPLATE, context)
    # The same URL answers with the page, the drawer or the table alone.
    patch_vary_headers(response, ["HX-Request", "HX-Target", DRAWER_HEADER])
    return response
