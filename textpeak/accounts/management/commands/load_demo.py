from django.core.management.base import BaseCommand
from django.db import transaction

from textpeak.accounts.models import Account, Member, User
from textpeak.accounts.roles import sync_support_group

DEMO_ACCOUNT = "Demo Co"
ADMIN = ("admin@demo.test", "demo-password")
MEMBER = ("member@demo.test", "demo-password")
SUPPORT = ("support@demo.test", "support-password")


def _user(email: str, password: str, **fields) -> User:
    user = User.objects.filter(email__iexact=email).first() or User(email=email)
    for name, value in fields.items():
        setattr(user, name, value)
    user.is_active = True
    user.set_password(password)
    user.save()
    return user


class Command(BaseCommand):
    help = "Create or refresh the demo account, its admin and member, and a support-staff user."

    @transaction.atomic
    def handle(self, *args, **options):
        account, _ = Account.objects.get_or_create(name=DEMO_ACCOUNT)
        people = (
            (ADMIN, "Demo Admin", Member.Role.ADMIN),
            (MEMBER, "Demo Member", Member.Role.MEMBER),
        )
        for login, full_name, role in people:
            user = _user(*login, full_name=full_name, is_staff=False, is_superuser=False)
            Member.objects.update_or_create(user=user, defaults={"account": account, "role": role})
        support = _user(*SUPPORT, full_name="Support Agent", is_staff=True, is_superuser=False)
        support.groups.set([sync_support_group()])
        self.stdout.write(
            self.style.SUCCESS("Demo data ready.\n")
            + f"  Console  {ADMIN[0]} / {ADMIN[1]}  (admin of {DEMO_ACCOUNT})\n"
            + f"  Console  {MEMBER[0]} / {MEMBER[1]}  (member of {DEMO_ACCOUNT}: looks only)\n"
            + f"  Admin    {SUPPORT[0]} / {SUPPORT[1]}  (Support group, /admin/)\n"
        )
