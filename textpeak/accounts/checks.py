from django.conf import settings
from django.core.checks import Error, register

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
