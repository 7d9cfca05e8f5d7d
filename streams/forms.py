from django import forms

from streams.models import Stream


class StreamFilterForm(forms.Form):
    """The filters above the streams table. Plain GET parameters, so a URL can be shared."""

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search by name"}),
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All statuses"), *Stream.Status.choices]
    )
    tag = forms.ChoiceField(label="Tag", required=False)

    def __init__(self, *args, tag_names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "All tags"), *((name, name) for name in tag_names)]

    def filters(self) -> dict[str, str]:
        """The filters that are valid; an invalid one is shown as an error and not applied."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class StreamDetailsForm(forms.ModelForm):
    """Step 1 of the Create New Stream wizard: Stream API Details."""

    class Meta:
        model = Stream
        fields = ["name", "description", "is_demo"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "is_demo": "Simulates the whole flow with demo senders and templates, "
            "without contacting Meta.",
        }
