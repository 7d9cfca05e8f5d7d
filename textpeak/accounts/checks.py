from django.conf import settings
from django.core.checks import Error, register

from textpeak.accounts.retention import PERIODS
from textpeak.lib.crypto import fernet


@register()
def check_encryption_keys(app_configs, **kwargs):
    if not settings.ENCRYPTION_KEYS:
        return [
            Error(
                "TEXTPEAK_ENCRYPTION_KEYS is empty.",
                hint="Set it to one or more comma-separated Fernet keys.",
                id="textpeak.E001",
            )
        ]
    try:
        fernet()
    except ValueError:
        return [
            Error(
                "TEXTPEAK_ENCRYPTION_KEYS holds a value that is not a Fernet key.",
                hint='Make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="textpeak.E002",
            )
        ]
    return []


@register()
def check_retention_periods(app_configs, **kwargs):
    return [
        Error(
            f"{period.setting} is {period.days}: it must be at least {period.minimum}.",
            hint="The README's Retention section says what each period keeps.",
            id="textpeak.E003",
        )
        for period in PERIODS
        if period.days < period.minimum
    ]
