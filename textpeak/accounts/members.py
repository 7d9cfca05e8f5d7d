"""An account's members: admins invite people by e-mail, change their roles and remove them.

A login belongs to one account. An account always keeps at least one admin who has joined (set
a password): the changes that would leave it without one are refused, under a lock on the
account so that two admins demoting each other at the same moment cannot both succeed.

An invitation is a login without a usable password and an e-mailed link that sets one. The link
carries a Django password-reset token under a salt of its own: it works until the password is
set and for ``PASSWORD_RESET_TIMEOUT`` (three days), and nothing about it is stored.
"""

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from textpeak.accounts.models import Account, Member, User
from textpeak.lib.tasks import enqueue_on_commit


class MemberRefused(Exception):
    """A change the account's rules do not allow; the message tells the admin why."""


class InvitationTokens(PasswordResetTokenGenerator):
    """Tokens of invitation links, which a password-reset token cannot stand in for."""

    key_salt = "textpeak.accounts.members.InvitationTokens"


invitation_tokens = InvitationTokens()


def member_list(*, account: Account) -> QuerySet[Member]:
    return account.members.select_related("user").order_by("created_at", "id")


def member_invite(
    *, account: Account, email: str, role: str, name: str = "", invited_by: User
) -> Member:
    """Create a login for ``email`` in the account, with no password yet, and e-mail it an
    invitation after commit."""
    email = User.objects.normalize_email(email).strip().lower()
    with transaction.atomic():
        existing = User.objects.filter(email__iexact=email).select_related("member").first()
        if existing is not None:
            raise _taken(existing, email=email, account=account)
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email, password=None, full_name=name)
        except IntegrityError:
            # Invited by someone else at the same moment.
            raise MemberRefused(_TAKEN.format(email=email)) from None
        member = Member.objects.create(user=user, account=account, role=role)
        _send_on_commit(member, invited_by=invited_by)
    return member


_TAKEN = (
    "{email} already has a TextPeak login in another account. A login belongs to one account: "
    "invite another address."
)


def _taken(user: User, *, email: str, account: Account) -> MemberRefused:
    member = getattr(user, "member", None)
    if member is not None and member.account_id == account.pk:
        return MemberRefused(f"{email} is already a member of {account.name}.")
    return MemberRefused(_TAKEN.format(email=email))


def member_invitation_resend(*, member: Member, invited_by: User) -> None:
    if member.has_joined:
        raise MemberRefused(f"{member.user.email} has already joined {member.account.name}.")
    _send_on_commit(member, invited_by=invited_by)


def _send_on_commit(member: Member, *, invited_by: User) -> None:
    from textpeak.accounts.tasks import send_member_invitation

    enqueue_on_commit(send_member_invitation, member.id, invited_by.id)


def invitation_days() -> int:
    return settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)


def invitation_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("invitation_accept", args=[uid, invitation_tokens.make_token(user)])
    return settings.SITE_URL + path


def member_invitation_send(*, member_id: int, invited_by_id: int | None) -> None:
    """E-mail the invitation link, unless the member has joined or is gone meanwhile."""
    member = Member.objects.select_related("user", "account").filter(pk=member_id).first()
    if member is None or member.has_joined:
        return
    context = {
        "member": member,
        "account": member.account,
        "invited_by": User.objects.filter(pk=invited_by_id).first(),
        "url": invitation_url(member.user),
        "invitation_days": invitation_days(),
    }
    send_mail(
        subject=" ".join(
            render_to_string("accounts/email/invitation_subject.txt", context).split()
        ),
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[member.user.email],
    )


def member_role_change(*, member: Member, role: str) -> Member:
    with transaction.atomic():
        member = _locked(member)
        if role != Member.Role.ADMIN:
            _keep_an_admin(member)
        member.role = role
        member.save(update_fields=["role"])
    return member


def member_remove(*, member: Member) -> None:
    """Remove the member and their login (a login belongs to one account), so their session
    ends at once. Support staff keep their login and lose only the membership."""
    with transaction.atomic():
        member = _locked(member)
        _keep_an_admin(member)
        if member.user.is_staff:
            member.delete()
        else:
            member.user.delete()


def _locked(member: Member) -> Member:
    """The member as it is now, with its account locked: membership changes of one account
    happen one at a time."""
    Account.objects.select_for_update().filter(pk=member.account_id).first()
    current = Member.objects.select_related("user", "account").filter(pk=member.pk).first()
    if current is None:
        raise MemberRefused(f"{member.user.email} is no longer a member of {member.account.name}.")
    return current


def _keep_an_admin(member: Member) -> None:
    """Refuse to take ``member`` away from the admins when no other admin has joined."""
    if not member.is_admin:
        return
    others = (
        Member.objects.filter(account_id=member.account_id, role=Member.Role.ADMIN)
        .exclude(pk=member.pk)
        .exclude(user__password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .filter(user__is_active=True)
    )
    if not others.exists():
        raise MemberRefused(
            f"{member.account.name} must keep at least one admin who has joined: make another "
            "member an admin first."
        )


def admin_emails(*, account: Account) -> list[str]:
    """Where the account's notices go: its admins who can log in."""
    return list(
        account.members.filter(role=Member.Role.ADMIN, user__is_active=True)
        .order_by("created_at", "id")
        .values_list("user__email", flat=True)
    )
