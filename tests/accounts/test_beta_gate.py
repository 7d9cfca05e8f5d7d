import pytest
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse

from tests.factories import MemberFactory, whatsapp_stream
from textpeak.accounts import beta
from textpeak.accounts.models import BetaAccessRequest, Member

pytestmark = pytest.mark.django_db

REQUEST_URL = reverse("beta_request", args=["whatsapp_streams"])
CREATE_URL = reverse("streams:create", args=["whatsapp"])


def test_it_offers_request_access_before_approval(owner_client):
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert "Request Access" in page
    assert CREATE_URL not in page


def test_it_records_a_request_and_says_request_received(owner_client, account, owner):
    response = owner_client.post(REQUEST_URL, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Request Received!" in response.content.decode()
    request = BetaAccessRequest.objects.get(account=account)
    assert (request.status, request.requested_by) == ("pending", owner)


def test_it_answers_htmx_with_the_result_alone(owner_client):
    response = owner_client.post(REQUEST_URL, headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode()


def test_it_answers_a_plain_form_post_with_a_whole_page(owner_client):
    response = owner_client.post(REQUEST_URL)
    assert "<html" in response.content.decode()
    assert "Request Received!" in response.content.decode()


def test_it_says_request_already_sent_the_second_time(owner_client, account):
    owner_client.post(REQUEST_URL)
    response = owner_client.post(REQUEST_URL)
    assert "Request Already Sent" in response.content.decode()
    assert BetaAccessRequest.objects.filter(account=account).count() == 1


def test_another_admin_sees_request_already_sent(owner_client, account):
    owner_client.post(REQUEST_URL)
    client = Client()
    client.force_login(MemberFactory(account=account, role=Member.Role.ADMIN).user)
    response = client.post(REQUEST_URL)
    assert "Request Already Sent" in response.content.decode()
    assert BetaAccessRequest.objects.filter(account=account).count() == 1


def test_it_shows_the_pending_request_on_the_card(owner_client, owner):
    owner_client.post(REQUEST_URL)
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert "Access requested on" in page


def test_it_refuses_the_wizard_before_approval(owner_client):
    response = owner_client.get(CREATE_URL)
    assert response.status_code == 403
    assert "WhatsApp streams are in beta" in response.content.decode()


def test_it_unlocks_create_after_approval(owner_client, whatsapp_access):
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert CREATE_URL in page
    assert "Request Access" not in page
    assert owner_client.get(CREATE_URL).status_code == 200


def test_approval_unlocks_every_admin_of_the_account(client, account, whatsapp_access):
    client.force_login(MemberFactory(account=account, role=Member.Role.ADMIN).user)
    assert client.get(CREATE_URL).status_code == 200


def test_approval_does_not_unlock_other_accounts(client, outsider, whatsapp_access):
    client.force_login(outsider)
    assert client.get(CREATE_URL).status_code == 403


def test_it_says_access_is_already_granted_after_approval(owner_client, whatsapp_access):
    response = owner_client.post(REQUEST_URL)
    assert "Access Already Granted" in response.content.decode()


def test_it_shows_a_rejection_with_the_note_and_allows_asking_again(
    owner_client, account, owner, support
):
    request, _ = beta.beta_access_request(
        account=account, feature=beta.Feature.WHATSAPP_STREAMS, user=owner
    )
    beta.beta_access_review(
        request_ids=[request.id], reviewer=support, approve=False, note="Verify your business first"
    )
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert "was declined" in page
    assert "Verify your business first" in page
    assert "Request Received!" in owner_client.post(REQUEST_URL).content.decode()
    assert BetaAccessRequest.objects.filter(account=account, status="pending").count() == 1


def test_it_returns_404_for_an_unknown_feature(owner_client):
    response = owner_client.post(reverse("beta_request", args=["teleportation"]))
    assert response.status_code == 404


def test_it_refuses_get_on_the_request_url(owner_client):
    assert owner_client.get(REQUEST_URL).status_code == 405


def test_the_database_keeps_one_open_request_per_account_and_feature(account, owner):
    BetaAccessRequest.objects.create(account=account, feature="whatsapp_streams")
    with pytest.raises(IntegrityError):
        BetaAccessRequest.objects.create(
            account=account, feature="whatsapp_streams", status="approved"
        )


def test_a_draft_can_be_saved_from_the_first_step_after_approval(owner_client, whatsapp_access):
    response = owner_client.post(CREATE_URL, {"name": "Order updates", "description": ""})
    assert response.status_code == 302
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert "Order updates" in page
    assert "Draft" in page


def test_the_first_step_requires_a_name(owner_client, whatsapp_access):
    response = owner_client.post(CREATE_URL, {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


# -- access revoked by support


@pytest.fixture
def revoked(whatsapp_access, support):
    beta.beta_access_revoke(
        request_ids=[whatsapp_access.id], reviewer=support, note="Your numbers sent spam"
    )
    return whatsapp_access


def test_it_has_no_access_after_a_revocation(account, revoked):
    assert not beta.has_access(account=account, feature=beta.Feature.WHATSAPP_STREAMS)


def test_it_refuses_the_wizard_after_a_revocation(owner_client, revoked):
    response = owner_client.get(CREATE_URL)
    assert response.status_code == 403
    page = response.content.decode()
    assert "access to WhatsApp streams was withdrawn" in page
    assert "Your numbers sent spam" in page


@pytest.mark.parametrize("tab", [None, "messages", "whatsapp", "webhooks", "api"])
def test_it_refuses_a_streams_pages_after_a_revocation(owner_client, account, revoked, tab):
    stream = whatsapp_stream(account=account)
    url = (
        reverse("streams:tab", args=[stream.uid, tab])
        if tab
        else reverse("streams:detail", args=[stream.uid])
    )
    response = owner_client.get(url)
    assert response.status_code == 403
    assert "access to WhatsApp streams was withdrawn" in response.content.decode()


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "streams:setup", {"step": "whatsapp"}),
        ("post", "webhooks:preview", {}),
        ("get", "whatsapp_callback_key_rotate_confirm", {}),
        ("post", "whatsapp_callback_key_rotate", {}),
    ],
)
def test_it_refuses_a_streams_setup_and_actions_after_a_revocation(
    owner_client, account, revoked, method, name, kwargs
):
    stream = whatsapp_stream(account=account)
    url = reverse(name, kwargs={"uid": stream.uid, **kwargs})
    assert getattr(owner_client, method)(url).status_code == 403


def test_it_opens_a_streams_pages_with_access(owner_client, account, whatsapp_access):
    stream = whatsapp_stream(account=account)
    assert owner_client.get(reverse("streams:detail", args=[stream.uid])).status_code == 200


def test_it_shows_a_revocation_with_the_note_and_allows_asking_again(
    owner_client, account, revoked
):
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert "access was withdrawn" in page
    assert "Your numbers sent spam" in page
    assert CREATE_URL not in page
    assert "Request Received!" in owner_client.post(REQUEST_URL).content.decode()
    assert BetaAccessRequest.objects.filter(account=account, status="pending").count() == 1
