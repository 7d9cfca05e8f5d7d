"""The WhatsApp app: registers its stream type when Django starts."""

from django.apps import AppConfig


class WhatsAppConfig(AppConfig):
    name = "whatsapp"
    verbose_name = "WhatsApp"

    def ready(self):
        from whatsapp import types  # noqa: F401  (registers the stream type)
