"""Account > Members: admins invite people by e-mail, change their roles and remove them; the
account always keeps an admin who can log in."""

import html
import re
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, MemberFactory
from textpeak.accounts import members
from textpeak.accounts.models import Member, User
from textpeak.accounts.tasks import send_member_invitation

pytestmark = pytest.mark.django_db

MEMBERS = reverse("members")
INVITE = reverse("member_invite")
LINK = re.compile(r"https?://\S+/account/invitation/\S+/")


def _page(client, url=MEMBERS):
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _role_url(user):
    return reverse("member_role", args=[user.member.id])


def _remove_url(user):
    return reverse("member_remove", args=[user.member.id])


def _invite(client, email="new@acme.test", role="member", **extra):
    return client.post(INVITE, {"email": email, "role": role, **extra}, follow=True)


def _invitation_link(email):
    user = User.objects.get(email=email)
    send_member_invitation(user.member.id, None)
    sent = [message for message in mail.outbox if message.to == [email]][-1]
    return LINK.search(sent.body)[0]


def _logs_in(email, password):
    response = Client().post(reverse("login"), {"username": email, "password": password})
    return response.status_code == 302


def _role(user):
    return Member.objects.get(user_id=user.pk).role


# -- the list


def test_it_lists_the_accounts_members_with_their_roles(owner_client, teammate, outsider):
    page = _page(owner_client)
    assert "owner@acme.test" in page
    assert "teammate@acme.test" in page
    assert "outsider@other.test" not in page
    assert re.search(r"owner@acme\.test.*?Admin", page, re.S)


def test_it_links_the_members_page_from_the_console(teammate_client):
    assert f'href="{MEMBERS}"' in _page(teammate_client, reverse("streams:list"))


def test_it_shows_a_member_the_list_without_actions(teammate_client, owner):
    page = _page(teammate_client)
    assert "owner@acme.test" in page
    assert INVITE not in page
    assert "Re-send invitation" not in page
    assert _role_url(owner) not in page
    assert _remove_url(owner) not in page


def test_it_shows_pending_invitations_as_such(owner_client):
    _invite(owner_client, "new@acme.test")
    assert re.search(r"new@acme\.test.*?Invitation pending", _page(owner_client), re.S)


# -- invitations


def test_it_invites_a_member_by_email(
    owner_client, owner, account, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(send_member_invitation, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _invite(owner_client, "New@Acme.test", name="Nia New")
    assert "Invitation sent to new@acme.test." in html.unescape(response.content.decode())
    user = User.objects.get(email="new@acme.test")
    assert not user.has_usable_password()
    assert (user.member.account, user.member.role, user.full_name) == (account, "member", "Nia New")
    publish.assert_called_once_with(args=(user.member.id, owner.id), countdown=None, retry=False)


def test_the_invitation_email_links_to_setting_a_password(owner_client, owner):
    _invite(owner_client, "new@acme.test")
    send_member_invitation(User.objects.get(email="new@acme.test").member.id, owner.id)
    (sent,) = mail.outbox
    assert sent.to == ["new@acme.test"]
    assert "Acme Ltd" in sent.subject
    assert "owner@acme.test" in sent.body
    assert LINK.search(sent.body)


def test_the_invitation_link_sets_the_password_and_logs_in(owner_client, account):
    _invite(owner_client, "new@acme.test")
    link = _invitation_link("new@acme.test")
    invitee = Client()
    response = invitee.get(link, follow=True)
    assert "Set your password" in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    response = invitee.post(
        form_url, {"new_password1": "a-long-new-pass", "new_password2": "a-long-new-pass"}
    )
    assert response.status_code == 302
    assert invitee.get(reverse("streams:list")).status_code == 200
    assert _logs_in("new@acme.test", "a-long-new-pass")


def test_it_refuses_a_used_invitation_link(owner_client):
    _invite(owner_client, "new@acme.test")
    link = _invitation_link("new@acme.test")
    first = Client()
    form_url = first.get(link, follow=True).redirect_chain[-1][0]
    first.post(form_url, {"new_password1": "a-long-new-pass", "new_password2": "a-long-new-pass"})
    page = Client().get(link, follow=True).content.decode()
    assert "This invitation link has expired or was already used" in page
    assert "new_password1" not in page


def test_it_refuses_an_expired_invitation_link(owner_client, settings):
    _invite(owner_client, "new@acme.test")
    link = _invitation_link("new@acme.test")
    # Django's token generator counts in naive local time.
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with mock.patch("textpeak.accounts.members.InvitationTokens._now", return_value=later):
        page = Client().get(link, follow=True).content.decode()
    assert "This invitation link has expired or was already used" in page


def test_it_refuses_a_password_reset_style_token_forged_for_the_invitee(owner_client):
    """The invitation's tokens are its own: Django's password-reset token does not open it."""
    from django.contrib.auth.tokens import default_token_generator

    _invite(owner_client, "new@acme.test")
    user = User.objects.get(email="new@acme.test")
    link = _invitation_link("new@acme.test")
    forged = link.rsplit("/", 2)[0] + f"/{default_token_generator.make_token(user)}/"
    page = Client().get(forged, follow=True).content.decode()
    assert "This invitation link has expired or was already used" in page


def test_it_resends_an_invitation(owner_client, django_capture_on_commit_callbacks):
    _invite(owner_client, "new@acme.test")
    invitee = User.objects.get(email="new@acme.test")
    url = reverse("member_resend", args=[invitee.member.id])
    with (
        mock.patch.object(send_member_invitation, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = owner_client.post(url, follow=True)
    assert "Invitation sent again to new@acme.test." in html.unescape(response.content.decode())
    assert publish.call_count == 1


def test_it_does_not_resend_to_a_member_who_has_joined(owner_client, teammate):
    response = owner_client.post(reverse("member_resend", args=[teammate.member.id]), follow=True)
    assert "teammate@acme.test has already joined" in html.unescape(response.content.decode())


def test_it_refuses_to_invite_an_email_of_another_account(owner_client, outsider):
    response = _invite(owner_client, "Outsider@Other.test")
    page = html.unescape(response.content.decode())
    assert "already has a TextPeak login in another account" in page
    assert outsider.member.account.name not in page
    assert User.objects.get(pk=outsider.pk).member.account.name == "Other Co"


def test_it_refuses_to_invite_an_existing_member(owner_client, teammate):
    page = html.unescape(_invite(owner_client, "teammate@acme.test").content.decode())
    assert "teammate@acme.test is already a member of Acme Ltd." in page


def test_it_refuses_to_invite_a_user_without_an_account(owner_client, support):
    page = html.unescape(_invite(owner_client, support.email).content.decode())
    assert "already has a TextPeak login" in page
    assert not Member.objects.filter(user=support).exists()


def test_it_refuses_an_invalid_role(owner_client):
    _invite(owner_client, "new@acme.test", role="owner")
    assert not User.objects.filter(email="new@acme.test").exists()


# -- roles


def test_it_makes_a_member_an_admin(owner_client, teammate):
    response = owner_client.post(_role_url(teammate), {"role": "admin"}, follow=True)
    assert "teammate@acme.test is now an admin." in html.unescape(response.content.decode())
    assert _role(teammate) == "admin"


def test_a_new_admin_can_then_change_streams(owner_client, teammate, account):
    owner_client.post(_role_url(teammate), {"role": "admin"})
    client = Client()
    client.force_login(teammate)
    assert client.post(INVITE, {"email": "x@acme.test", "role": "member"}).status_code == 302


def test_it_refuses_to_demote_the_last_admin(owner_client, owner, teammate):
    response = owner_client.post(_role_url(owner), {"role": "member"}, follow=True)
    page = html.unescape(response.content.decode())
    assert "Acme Ltd must keep at least one admin" in page
    assert _role(owner) == "admin"


def test_it_demotes_an_admin_when_another_remains(owner_client, owner, account):
    other = MemberFactory(account=account, role="admin").user
    owner_client.post(_role_url(other), {"role": "member"})
    assert _role(other) == "member"


def test_an_invited_admin_does_not_count_as_the_remaining_admin(owner_client, owner):
    _invite(owner_client, "boss@acme.test", role="admin")
    response = owner_client.post(_role_url(owner), {"role": "member"}, follow=True)
    assert "must keep at least one admin" in html.unescape(response.content.decode())
    assert _role(owner) == "admin"


def test_the_service_refuses_the_last_admin_under_a_lock(account, owner):
    with pytest.raises(members.MemberRefused, match="at least one admin"):
        members.member_role_change(member=owner.member, role="member")


# -- removal


def test_it_asks_before_removing_a_member(owner_client, teammate):
    page = _page(owner_client, _remove_url(teammate))
    assert "Remove teammate@acme.test?" in page
    assert Member.objects.filter(user=teammate).exists()


def test_it_removes_a_member_whose_login_then_stops_working(owner_client, teammate):
    response = owner_client.post(_remove_url(teammate), follow=True)
    assert "teammate@acme.test was removed from Acme Ltd." in html.unescape(
        response.content.decode()
    )
    assert not User.objects.filter(pk=teammate.pk).exists()
    assert not _logs_in("teammate@acme.test", PASSWORD)


def test_it_refuses_to_remove_the_last_admin(owner_client, owner):
    response = owner_client.post(_remove_url(owner), follow=True)
    assert "Acme Ltd must keep at least one admin" in html.unescape(response.content.decode())
    assert Member.objects.filter(user=owner).exists()


def test_it_lets_an_admin_leave_when_another_remains(owner_client, owner, account):
    MemberFactory(account=account, role="admin")
    owner_client.post(_remove_url(owner))
    assert not User.objects.filter(pk=owner.pk).exists()


# -- what a member and an outsider may do


def test_it_refuses_a_member_who_invites(teammate_client):
    assert _invite(teammate_client).status_code == 403
    assert not User.objects.filter(email="new@acme.test").exists()


def test_it_refuses_a_member_who_makes_themselves_admin(teammate_client, teammate):
    assert teammate_client.post(_role_url(teammate), {"role": "admin"}).status_code == 403
    assert _role(teammate) == "member"


def test_it_refuses_a_member_who_removes_the_admin(teammate_client, owner):
    assert teammate_client.post(_remove_url(owner)).status_code == 403
    assert Member.objects.filter(user=owner).exists()
