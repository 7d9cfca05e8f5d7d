"""The WhatsApp pages' forms: settings, a new token, a sender's rate."""

from django import forms
from django.core.validators import RegexValidator

from whatsapp.models import WhatsAppAccount


class WhatsAppSettingsForm(forms.Form):
    """WhatsApp Settings: step 2 of the wizard. Secrets are never rendered back: a blank field
    keeps the saved value, shown as its last four characters."""

    business_id = forms.CharField(
        label="WhatsApp Business ID",
        required=False,
        max_length=32,
        validators=[RegexValidator(r"^[0-9]+$", "The WhatsApp Business ID has digits only.")],
        help_text="The WhatsApp Business Account ID in WhatsApp Manager, under Account tools.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    access_token = forms.CharField(
        label="Permanent authentication token",
        required=False,
        max_length=1000,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="A system user's permanent token with whatsapp_business_messaging and "
        "whatsapp_business_management.",
    )
    app_secret = forms.CharField(
        label="App secret",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Your Meta app's secret: in Meta for Developers, your app's App settings \u203a "
        "Basic (Show). Every webhook from Meta is checked with it; none is taken without it.",
    )

    def __init__(self, *args, account: WhatsAppAccount | None, complete: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.complete = complete
        if account and account.access_token_last4:
            self.fields[
                "access_token"
            ].help_text = f"Saved: •••• {account.access_token_last4}. Leave blank to keep it."
        if account and account.app_secret_last4:
            self.fields[
                "app_secret"
            ].help_text = f"Saved: •••• {account.app_secret_last4}. Leave blank to keep it."

    def clean(self):
        cleaned = super().clean()
        if self.complete:
            if not cleaned.get("business_id") and "business_id" not in self.errors:
                self.add_error("business_id", "Enter the WhatsApp Business ID.")
            has_token = self.account is not None and self.account.access_token_last4
            if not cleaned.get("access_token") and not has_token:
                self.add_error("access_token", "Enter the permanent authentication token.")
            has_secret = self.account is not None and self.account.has_app_secret
            if not cleaned.get("app_secret") and not has_secret:
                self.add_error(
                    "app_secret", "Enter the app secret: Meta's webhooks are checked with it."
                )
        return cleaned


class UpdateTokenForm(forms.Form):
    """The WhatsApp tab's Update token form: a new token, checked with Meta before it is kept."""

    access_token = forms.CharField(
        label="New permanent authentication token",
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class SenderRateForm(forms.Form):
    """The WhatsApp tab's per-sender limit: workers never send faster from that number."""

    sender = forms.CharField()
    messages_per_second = forms.IntegerField(
        label="Messages per second",
        min_value=1,
        max_value=1000,
        error_messages={
            "min_value": "Send at least 1 message per second.",
            "max_value": "WhatsApp allows at most 1,000 messages per second per number.",
        },
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_sender(self):
        sender = self.account.senders.filter(phone_number_id=self.cleaned_data["sender"]).first()
        if sender is None:
            raise forms.ValidationError("That sender is not one of this stream's.")
        return sender


class DeliveryGuaranteeForm(forms.Form):
    """The WhatsApp tab's choice for the rare send a dying worker leaves in doubt."""

    guarantee = forms.ChoiceField(
        label="If a worker stops during a send",
        choices=WhatsAppAccount.DeliveryGuarantee.choices,
        widget=forms.RadioSelect,
    )


class ServiceWindowCheckForm(forms.Form):
    """The WhatsApp tab's choice to refuse free-form messages outside the service window."""

    service_window_check = forms.TypedChoiceField(
        label="A message that is not a template, to a contact who has not written in 24 hours",
        choices=[
            ("on", "Refuse it at once (OUTSIDE_SERVICE_WINDOW)"),
            ("off", "Send it: WhatsApp refuses it if the window is closed (131047)"),
        ],
        coerce=lambda value: value == "on",
        widget=forms.RadioSelect,
    )
