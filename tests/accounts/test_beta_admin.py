import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, AccountFactory, UserFactory
from textpeak.accounts import beta
from textpeak.accounts.models import Account, BetaAccessRequest
from textpeak.accounts.tasks import notify_beta_access_decision

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_betaaccessrequest_changelist")


@pytest.fixture
def pending(account, owner):
    request, _ = beta.beta_access_request(
        account=account, feature=beta.Feature.WHATSAPP_STREAMS, user=owner
    )
    return request


def _action(client, action, ids, **extra):
    return client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: ids, **extra})


def test_support_sees_requests_with_account_requester_and_status(support_client, pending):
    page = support_client.get(CHANGELIST).content.decode()
    assert "Acme Ltd" in page
    assert "owner@acme.test" in page
    assert "Pending" in page


def test_support_filters_requests_by_status(support_client, pending):
    other = AccountFactory(name="Initech")
    BetaAccessRequest.objects.create(account=other, feature="whatsapp_streams", status="rejected")
    page = support_client.get(CHANGELIST, {"status__exact": "pending"}).content.decode()
    assert "Acme Ltd" in page
    assert "Initech" not in page


def test_support_searches_requests_by_email(support_client, pending):
    assert "Acme Ltd" in support_client.get(CHANGELIST, {"q": "owner@acme"}).content.decode()
    assert "Acme Ltd" not in support_client.get(CHANGELIST, {"q": "nobody@"}).content.decode()


def test_approve_asks_for_confirmation_first(support_client, pending):
    response = _action(support_client, "approve", [pending.id])
    assert response.status_code == 200
    assert "Yes, approve" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_approve_records_the_reviewer_and_time(support_client, support, pending):
    response = _action(support_client, "approve", [pending.id], confirm="yes")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "approved"
    assert pending.reviewed_by == support
    assert pending.reviewed_at is not None


def test_reject_keeps_the_note_for_the_account(support_client, pending):
    _action(support_client, "reject", [pending.id], confirm="yes", note="Business not verified")
    pending.refresh_from_db()
    assert (pending.status, pending.note) == ("rejected", "Business not verified")


def test_bulk_approval_reviews_every_selected_pending_request(support_client, pending):
    second = BetaAccessRequest.objects.create(account=AccountFactory(), feature="whatsapp_streams")
    _action(support_client, "approve", [pending.id, second.id], confirm="yes")
    statuses = set(BetaAccessRequest.objects.values_list("status", flat=True))
    assert statuses == {"approved"}


def test_approval_leaves_already_reviewed_requests_alone(support_client, support, pending):
    beta.beta_access_review(request_ids=[pending.id], reviewer=support, approve=False)
    response = _action(support_client, "approve", [pending.id], confirm="yes")
    pending.refresh_from_db()
    assert pending.status == "rejected"
    assert response.status_code == 302


def test_approval_emails_the_requester(support_client, pending):
    _action(support_client, "approve", [pending.id], confirm="yes")
    notify_beta_access_decision(pending.id)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@acme.test"]
    assert "You now have access to WhatsApp streams" in mail.outbox[0].subject
    assert "/streams/" in mail.outbox[0].body


def test_rejection_email_carries_the_note(support_client, pending):
    _action(support_client, "reject", [pending.id], confirm="yes", note="Add a business website")
    notify_beta_access_decision(pending.id)
    assert "Add a business website" in mail.outbox[0].body


def test_the_decision_is_emailed_only_once(support_client, pending):
    _action(support_client, "approve", [pending.id], confirm="yes")
    notify_beta_access_decision(pending.id)
    notify_beta_access_decision(pending.id)
    assert len(mail.outbox) == 1


def test_a_pending_request_is_not_emailed(pending):
    notify_beta_access_decision(pending.id)
    assert mail.outbox == []


def test_support_cannot_add_requests(support_client):
    response = support_client.get(reverse("admin:accounts_betaaccessrequest_add"))
    assert response.status_code == 403


def test_support_cannot_open_users(support_client, owner):
    assert support_client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    change = reverse("admin:accounts_user_change", args=[owner.id])
    assert support_client.post(change, {"email": "hijack@evil.test"}).status_code == 403
    owner.refresh_from_db()
    assert owner.email == "owner@acme.test"


def test_support_can_view_but_not_edit_accounts(support_client, account):
    change = reverse("admin:accounts_account_change", args=[account.id])
    assert support_client.get(change).status_code == 200
    assert support_client.post(change, {"name": "Renamed"}).status_code == 403
    account.refresh_from_db()
    assert account.name == "Acme Ltd"


def test_support_cannot_add_or_delete_accounts(support_client, account):
    assert support_client.get(reverse("admin:accounts_account_add")).status_code == 403
    delete = reverse("admin:accounts_account_delete", args=[account.id])
    assert support_client.post(delete, {"post": "yes"}).status_code == 403
    assert Account.objects.filter(id=account.id).exists()


def test_support_is_not_a_superuser(support):
    assert not support.is_superuser


def test_a_member_cannot_open_the_admin(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_staff_without_the_support_group_cannot_review(client, pending):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(CHANGELIST).status_code == 403


def test_support_can_clear_a_login_lockout(support_client, owner):
    member = Client()
    for _ in range(5):
        member.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    attempts = reverse("admin:axes_accessattempt_changelist")
    assert owner.email in support_client.get(attempts).content.decode()
    ids = list(AccessAttempt.objects.values_list("id", flat=True))
    support_client.post(
        attempts, {"action": "delete_selected", ACTION_CHECKBOX_NAME: ids, "post": "yes"}
    )
    response = member.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 302


def _change(request):
    return reverse("admin:accounts_betaaccessrequest_change", args=[request.id])


def test_a_requests_title_names_its_feature_and_status(support_client, pending):
    assert str(pending) == "Acme Ltd → WhatsApp streams (Pending)"
    page = support_client.get(_change(pending)).content.decode()
    assert "Acme Ltd → WhatsApp streams (Pending)" in page
    assert "whatsapp_streams (pending)" not in page


def test_a_pending_requests_page_offers_approve_and_reject(support_client, pending):
    page = support_client.get(_change(pending)).content.decode()
    assert '<button type="submit">Approve</button>' in page
    assert '<button type="submit">Reject</button>' in page
    assert f'name="{ACTION_CHECKBOX_NAME}" value="{pending.id}"' in page


def test_a_reviewed_requests_page_offers_no_review(support_client, support, pending):
    beta.beta_access_review(request_ids=[pending.id], reviewer=support, approve=True)
    page = support_client.get(_change(pending)).content.decode()
    assert "Acme Ltd → WhatsApp streams (Approved)" in page
    assert ">Approve</button>" not in page
    assert ">Reject</button>" not in page


def _button_form(page, label):
    """The action and hidden fields of the form whose submit button reads ``label``."""
    for form in re.findall(r"<form .*?</form>", page, re.S):
        if f">{label}</button>" in form:
            action = re.search(r'action="([^"]*)"', form).group(1)
            fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
            fields.pop("csrfmiddlewaretoken", None)
            return action, fields
    raise AssertionError(f"No {label} button")


@pytest.mark.parametrize(("label", "status"), [("Approve", "approved"), ("Reject", "rejected")])
def test_a_requests_page_button_confirms_then_reviews(
    support_client, support, pending, label, status
):
    page = support_client.get(_change(pending)).content.decode()
    action, fields = _button_form(page, label)
    confirmation = support_client.post(action, fields).content.decode()
    assert f"Yes, {label.lower()}" in confirmation
    pending.refresh_from_db()
    assert pending.status == "pending"

    response = support_client.post(action, {**fields, "confirm": "yes", "note": "Checked"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.reviewed_by, pending.note) == (status, support, "Checked")


# -- revoking an approved access


@pytest.fixture
def approved(pending, support):
    beta.beta_access_review(request_ids=[pending.id], reviewer=support, approve=True)
    notify_beta_access_decision(pending.id)
    mail.outbox.clear()
    pending.refresh_from_db()
    return pending


def test_an_approved_requests_page_offers_revoke(support_client, approved):
    page = support_client.get(_change(approved)).content.decode()
    assert '<button type="submit">Revoke</button>' in page
    assert ">Approve</button>" not in page


def test_a_pending_requests_page_does_not_offer_revoke(support_client, pending):
    assert ">Revoke</button>" not in support_client.get(_change(pending)).content.decode()


def test_the_revoke_button_asks_for_a_note_then_revokes(support_client, support, approved):
    page = support_client.get(_change(approved)).content.decode()
    action, fields = _button_form(page, "Revoke")
    confirmation = support_client.post(action, fields).content.decode()
    assert "Yes, revoke" in confirmation
    response = support_client.post(action, {**fields, "confirm": "yes", "note": "Spam reports"})
    assert response.status_code == 302
    approved.refresh_from_db()
    assert (approved.status, approved.revoked_by, approved.note) == (
        "revoked",
        support,
        "Spam reports",
    )
    assert approved.revoked_at is not None
    assert approved.reviewed_by == support  # who approved it is kept


def test_it_refuses_to_revoke_without_a_note(support_client, approved):
    response = _action(support_client, "revoke", [approved.id], confirm="yes", note="  ")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == "approved"


def test_revoke_leaves_requests_that_are_not_approved_alone(support_client, pending):
    response = _action(support_client, "revoke", [pending.id], confirm="yes", note="Spam")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_revocation_emails_the_requester_with_the_note(support_client, approved):
    _action(support_client, "revoke", [approved.id], confirm="yes", note="Spam reports")
    notify_beta_access_decision(approved.id)
    [email] = mail.outbox
    assert email.to == ["owner@acme.test"]
    assert "withdrawn" in email.subject
    assert "Spam reports" in email.body
    assert "held" in email.body


def test_the_sweeper_emails_a_revocation_whose_email_did_not_go_out(approved, support):
    beta.beta_access_revoke(request_ids=[approved.id], reviewer=support, note="Spam")
    later = timezone.now() + timedelta(minutes=5)
    assert beta.decisions_awaiting_notification(older_than=later) == [approved.id]


def test_support_may_revoke(support):
    assert support.has_perm("accounts.change_betaaccessrequest")
