"""The "Support" group: what support staff may do in Django admin, and nothing more.

Support reviews beta access requests and revokes approved ones (both need "change" on the
request), looks at accounts, members and streams, sets an account's own retention periods,
turns a WhatsApp stream's service window check off or on (the one field of a WhatsApp account
that admin does not show read-only), and clears login lockouts (deleting django-axes access
attempts). It cannot add, change or delete users, accounts, members or streams.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

SUPPORT_GROUP = "Support"
SUPPORT_PERMISSIONS = [
    ("accounts", "account", "view"),
    ("accounts", "member", "view"),
    ("accounts", "betaaccessrequest", "view"),
    ("accounts", "betaaccessrequest", "change"),
    ("accounts", "accountretention", "view"),
    ("accounts", "accountretention", "add"),
    ("accounts", "accountretention", "change"),
    ("accounts", "accountretention", "delete"),
    ("streams", "stream", "view"),
    ("streams", "tag", "view"),
    ("whatsapp", "whatsappaccount", "view"),
    ("whatsapp", "whatsappaccount", "change"),
    ("whatsapp", "sender", "view"),
    ("whatsapp", "template", "view"),
    ("whatsapp", "message", "view"),
    ("whatsapp", "inboundpayload", "view"),
    ("webhooks", "webhookendpoint", "view"),
    ("axes", "accessattempt", "view"),
    ("axes", "accessattempt", "delete"),
]


def sync_support_group() -> Group:
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    permissions = []
    for app_label, model_name, action in SUPPORT_PERMISSIONS:
        model = apps.get_model(app_label, model_name)
        content_type = ContentType.objects.get_for_model(model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename=f"{action}_{model_name}",
            defaults={"name": f"Can {action} {model._meta.verbose_name}"},
        )
        permissions.append(permission)
    group.permissions.set(permissions)
    return group


def sync_support_group_after_migrate(sender, using="default", **kwargs):
    sync_support_group()
