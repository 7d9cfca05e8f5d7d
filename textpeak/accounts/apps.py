from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "textpeak.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from textpeak.accounts import checks, roles  # noqa: F401  (registers system checks)

        post_migrate.connect(roles.sync_support_group_after_migrate, sender=self)
