from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from webhooks import guard
from webhooks.models import WebhookEndpoint


class WebhookForm(forms.Form):
    """Incoming Messages Webhook: step 3 of the wizard and the Webhooks tab.

    The header rows arrive as parallel ``header_name`` / ``header_value`` lists; each row's
    errors are kept in ``row_errors`` to show beside it.
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

    def __init__(self, *args, complete: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.complete = complete
        self.row_errors: dict[int, list[str]] = {}

    @classmethod
    def initial_for(cls, endpoint: WebhookEndpoint | None) -> dict:
        if endpoint is None:
            return {"method": WebhookEndpoint.Method.POST, "url": "", "headers": []}
        return {
            "method": endpoint.method,
            "url": endpoint.url,
            "headers": endpoint.headers(),
            "send_statuses": endpoint.send_statuses,
        }

    @property
    def rows(self) -> list[tuple[str, str]]:
        if self.is_bound:
            return header_rows(self.data)
        return list(self.initial.get("headers", []))

    @property
    def rows_with_errors(self) -> list[dict]:
        return [
            {"name": name, "value": value, "errors": self.row_errors.get(i, [])}
            for i, (name, value) in enumerate(self.rows)
        ]

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
        headers, seen = [], set()
        for i, (name, value) in enumerate(self.rows):
            if not name.strip() and not value.strip():
                continue
            errors = []
            try:
                name = guard.validate_header_name(name, method=method)
            except ValidationError as error:
                errors += error.messages
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
        return cleaned


def header_rows(data: QueryDict) -> list[tuple[str, str]]:
    return list(zip(data.getlist("header_name"), data.getlist("header_value"), strict=False))


def edit_rows(data: QueryDict) -> QueryDict:
    """Apply Add header or a row's remove button to the submitted rows; nothing is saved."""
    data = data.copy()
    rows = header_rows(data)
    if "add_header" in data:
        rows.append(("", ""))
    elif "remove_header" in data:
        index = int(data["remove_header"]) if data["remove_header"].isdigit() else -1
        rows = [row for i, row in enumerate(rows) if i != index]
    data.setlist("header_name", [name for name, _ in rows])
    data.setlist("header_value", [value for _, value in rows])
    return data


ROW_ACTIONS = ("add_header", "remove_header")
