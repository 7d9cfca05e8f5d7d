from collections.abc import Sequence
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from webhooks import guard
from webhooks.models import WebhookEndpoint


class HeaderRow(NamedTuple):
    """One header row of the form. ``saved`` names the saved header whose value the row keeps
    while its value is left blank (saved values are never sent to the browser): the value goes
    with its row, so renaming the header keeps it and removing the row drops it."""

    name: str
    value: str
    saved: str = ""


class WebhookForm(forms.Form):
    """Incoming Messages Webhook: step 3 of the wizard and the Webhooks tab.

    The header rows arrive as parallel ``header_name`` / ``header_value`` / ``header_saved``
    lists; each row's errors are kept in ``row_errors`` to show beside it. Header values are
    write-only, as passwords are: ``saved_headers`` are the endpoint's stored ones, which a row
    left blank keeps.
    """

    method = forms.ChoiceField(
        label="Method",
        choices=WebhookEndpoint.Method.choices,
        initial=WebhookEndpoint.Method.POST,
        widget=forms.RadioSelect,
    )
    send_statuses = forms.BooleanField(
        label="Send delivery statuses",
        required=False,
        help_text="Also forward the sent, delivered, read and failed statuses of the messages "
        "this stream sends.",
    )
    url = forms.CharField(
        label="URL",
        required=False,
        max_length=guard.MAX_URL_LENGTH,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/whatsapp/incoming"}),
    )

    def __init__(
        self,
        *args,
        saved_headers: Sequence[tuple[str, str]] = (),
        complete: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.saved_values = dict(saved_headers)
        self.complete = complete
        self.row_errors: dict[int, list[str]] = {}

    @classmethod
    def initial_for(cls, endpoint: WebhookEndpoint | None) -> dict:
        if endpoint is None:
            return {"method": WebhookEndpoint.Method.POST, "url": "", "headers": []}
        return {
            "method": endpoint.method,
            "url": endpoint.url,
            "headers": [HeaderRow(name, "", saved=name) for name, _ in endpoint.headers()],
            "send_statuses": endpoint.send_statuses,
        }

    @property
    def rows(self) -> list[HeaderRow]:
        rows = header_rows(self.data) if self.is_bound else self.initial.get("headers", [])
        # A reference to a header that is not saved (removed meanwhile, or made up) keeps
        # nothing: the row is a new header.
        return [row if row.saved in self.saved_values else row._replace(saved="") for row in rows]

    @property
    def rows_with_errors(self) -> list[dict]:
        return [
            {**row._asdict(), "errors": self.row_errors.get(i, [])}
            for i, row in enumerate(self.rows)
        ]

    @property
    def has_saved_values(self) -> bool:
        return any(row.saved for row in self.rows)

    @property
    def header_problems(self) -> list[str]:
        return [error for errors in self.row_errors.values() for error in errors]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if not url:
            if self.complete:
                raise ValidationError("Enter the URL your server receives messages on.")
            return ""
        return guard.validate_url(url)

    def clean(self):
        cleaned = super().clean()
        method = cleaned.get("method", WebhookEndpoint.Method.POST)
        headers, kept, seen = [], [], set()
        for i, (name, value, saved) in enumerate(self.rows):
            if not name.strip() and not value.strip():
                continue
            errors = []
            try:
                name = guard.validate_header_name(name, method=method)
            except ValidationError as error:
                errors += error.messages
            if not value.strip() and saved:
                value = self.saved_values[saved]
                kept.append(name)
            elif not value.strip():
                errors.append("Enter a value for this header.")
            try:
                value = guard.validate_header_value(value)
            except ValidationError as error:
                errors += error.messages
            if not errors and name.lower() in seen:
                errors.append(f"{name} is already set above.")
            seen.add(name.lower())
            if errors:
                self.row_errors[i] = errors
            headers.append((name, value))
        if len(headers) > guard.MAX_HEADERS:
            raise ValidationError(f"A webhook has at most {guard.MAX_HEADERS} headers.")
        if self.row_errors:
            raise ValidationError("Correct the headers marked below.")
        cleaned["headers"] = headers
        # The headers whose saved value is kept: the preview masks them.
        cleaned["kept_headers"] = kept
        return cleaned


def header_rows(data: QueryDict) -> list[HeaderRow]:
    values, saved = data.getlist("header_value"), data.getlist("header_saved")
    return [
        HeaderRow(name, _item(values, i), _item(saved, i))
        for i, name in enumerate(data.getlist("header_name"))
    ]


def _item(items: list[str], index: int) -> str:
    return items[index] if index < len(items) else ""


def edit_rows(data: QueryDict) -> QueryDict:
    """Apply Add header or a row's remove button to the submitted rows; nothing is saved."""
    data = data.copy()
    rows = header_rows(data)
    if "add_header" in data:
        rows.append(HeaderRow("", ""))
    elif "remove_header" in data:
        index = int(data["remove_header"]) if data["remove_header"].isdigit() else -1
        rows = [row for i, row in enumerate(rows) if i != index]
    data.setlist("header_name", [row.name for row in rows])
    data.setlist("header_value", [row.value for row in rows])
    data.setlist("header_saved", [row.saved for row in rows])
    return data


ROW_ACTIONS = ("add_header", "remove_header")
