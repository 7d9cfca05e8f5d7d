from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from streams import networks
from streams.models import MAX_NETWORKS, MAX_TAGS, STATUS_LABELS, TAG_MAX_LENGTH, Stream


class StreamFilterForm(forms.Form):
    """The filters above the streams table. Plain GET parameters, so a URL can be shared."""

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search by name"}),
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All statuses"), *STATUS_LABELS.items()]
    )
    tag = forms.ChoiceField(label="Tag", required=False)

    def __init__(self, *args, tag_names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "All tags"), *((name, name) for name in tag_names)]

    def filters(self) -> dict[str, str]:
        """The filters that are valid; an invalid one is shown as an error and not applied."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class ListField(forms.Field):
    """A list kept in the form as repeated hidden inputs (the IP ACL's networks, the tags)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [item.strip() for item in value or [] if item.strip()]


class StreamDetailsForm(forms.Form):
    """Stream API Details: step 1 of the wizard, and the Info tab's edit form.

    ``complete`` is set for Save & Next, which needs what a draft may leave out.
    """

    name = forms.CharField(label="Stream API name", max_length=100)
    description = forms.CharField(
        label="Stream API description",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    ip_acl_enabled = forms.BooleanField(
        label="Enable IP ACL",
        required=False,
        help_text="Only these addresses may call the API with this stream's token.",
    )
    networks = ListField(required=False)
    new_ip = forms.CharField(
        label="Add IP",
        required=False,
        widget=forms.TextInput(
            attrs={
                "placeholder": "203.0.113.7, 2001:db8::1 or 198.51.100.0/24",
                "data-enter-click": "#ip-acl [name=add_ip]",
            }
        ),
    )
    tag_names = ListField(required=False)
    tag_query = forms.CharField(
        label="Tags",
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": "Type to find or create a tag", "autocomplete": "off"}
        ),
    )
    is_demo = forms.BooleanField(
        label="Demo Sending",
        required=False,
        help_text="Simulates sending and replies with demo senders and templates; "
        "nothing reaches WhatsApp.",
    )

    def __init__(self, *args, complete: bool = False, in_use: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.complete = complete or in_use
        if in_use:
            self.fields["is_demo"].disabled = True
            self.fields[
                "is_demo"
            ].help_text = "Set when the stream was created; create a new stream to switch."

    @classmethod
    def initial_for(cls, stream: Stream) -> dict:
        return {
            "name": stream.name,
            "description": stream.description,
            "ip_acl_enabled": stream.ip_acl_enabled,
            "networks": stream.allowed_networks,
            "tag_names": [tag.name for tag in stream.tags.all()],
            "is_demo": stream.is_demo,
        }

    @classmethod
    def unbound(cls, data: QueryDict, *, in_use: bool = False) -> "StreamDetailsForm":
        """The form showing submitted data without validating it (after an Add / remove)."""
        initial = {
            name: data.get(name, "") for name in ("name", "description", "new_ip", "tag_query")
        }
        initial.update(
            ip_acl_enabled="ip_acl_enabled" in data,
            is_demo="is_demo" in data,
            networks=data.getlist("networks"),
            tag_names=data.getlist("tag_names"),
        )
        return cls(initial=initial, in_use=in_use)

    @property
    def network_values(self) -> list[str]:
        return self["networks"].value() or []

    @property
    def network_chips(self) -> list[dict]:
        """Each listed network with its label; a tampered entry shows as typed (and fails clean)."""
        chips = []
        for value in self.network_values:
            try:
                label = networks.display(value)
            except ValueError:
                label = value
            chips.append({"value": value, "label": label})
        return chips

    @property
    def tag_values(self) -> list[str]:
        return self["tag_names"].value() or []

    def clean_networks(self) -> list[str]:
        normalised = []
        for value in self.cleaned_data["networks"]:
            network = networks.normalize(value)
            if network not in normalised:
                normalised.append(network)
        if len(normalised) > MAX_NETWORKS:
            raise ValidationError(f"An IP ACL holds at most {MAX_NETWORKS} entries.")
        return normalised

    def clean_tag_names(self) -> list[str]:
        names: dict[str, str] = {}
        for name in self.cleaned_data["tag_names"]:
            if len(name) > TAG_MAX_LENGTH:
                raise ValidationError(f"A tag has at most {TAG_MAX_LENGTH} characters.")
            names.setdefault(name.lower(), name)
        if len(names) > MAX_TAGS:
            raise ValidationError(f"A stream has at most {MAX_TAGS} tags.")
        return list(names.values())

    def clean(self):
        cleaned = super().clean()
        if self.complete and cleaned.get("ip_acl_enabled") and not cleaned.get("networks"):
            self.add_error("new_ip", "Add at least one IP address, or turn off Enable IP ACL.")
        return cleaned

    def details(self) -> dict:
        """What the services take, from a valid form."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "ip_acl_enabled": data["ip_acl_enabled"],
            "allowed_networks": data["networks"],
            "tag_names": data["tag_names"],
            "is_demo": data["is_demo"],
        }


def edit_lists(data: QueryDict) -> tuple[QueryDict, str, str]:
    """Apply an Add / remove button of the IP ACL or the tags to the submitted form data.

    Returns the new data, which list changed (``"networks"`` or ``"tags"``) and an error to show
    beside that list's field, if any. Nothing is saved: the lists are saved with the form.
    """
    data = data.copy()
    current_networks = data.getlist("networks")
    current_tags = data.getlist("tag_names")
    if "add_ip" in data:
        try:
            network = networks.normalize(data.get("new_ip", ""))
        except ValidationError as error:
            return data, "networks", error.messages[0]
        if network in current_networks:
            return data, "networks", f"{networks.display(network)} is already in the list."
        if len(current_networks) >= MAX_NETWORKS:
            return data, "networks", f"An IP ACL holds at most {MAX_NETWORKS} entries."
        data.setlist("networks", [*current_networks, network])
        data["new_ip"] = ""
        return data, "networks", ""
    if "remove_ip" in data:
        data.setlist("networks", [n for n in current_networks if n != data["remove_ip"]])
        return data, "networks", ""
    if "add_tag" in data:
        # Without JavaScript the Add tag button carries no value: the typed text is the tag.
        name = (data["add_tag"] or data.get("tag_query", "")).strip()
        if not name or len(name) > TAG_MAX_LENGTH:
            return data, "tags", f"A tag has 1 to {TAG_MAX_LENGTH} characters."
        if name.lower() not in {tag.lower() for tag in current_tags}:
            if len(current_tags) >= MAX_TAGS:
                return data, "tags", f"A stream has at most {MAX_TAGS} tags."
            data.setlist("tag_names", [*current_tags, name])
        data["tag_query"] = ""
        return data, "tags", ""
    if "remove_tag" in data:
        data.setlist("tag_names", [t for t in current_tags if t != data["remove_tag"]])
        return data, "tags", ""
    raise ValueError("no list action in the form data")


LIST_ACTIONS = ("add_ip", "remove_ip", "add_tag", "remove_tag")


def last_month(today: date) -> tuple[date, date]:
    """The first and last day of the calendar month before ``today``'s."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


class ExportPeriodForm(forms.Form):
    """The period of an export of a stream's messages: from and to a day, both included, in
    the site's time zone; last month unless chosen."""

    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        start, end = last_month(timezone.localdate())
        self.fields["date_from"].initial = start
        self.fields["date_to"].initial = end

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise ValidationError("The period must end on or after the day it starts.")
        return cleaned

    def period(self) -> tuple[datetime, datetime]:
        """From the start of the first day until the start of the day after the last; the
        default period for a form left empty."""
        if self.is_bound:
            start, end = self.cleaned_data["date_from"], self.cleaned_data["date_to"]
        else:
            start, end = last_month(timezone.localdate())
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
        )
