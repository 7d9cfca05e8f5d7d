"""Credential health: the daily check and Check now find what is wrong with a real stream's
standing at Meta, show it as Needs attention with how to fix it, e-mail the admins once per
problem, and clear it when a later check finds it gone."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import contact_wrote, whatsapp_stream
from tests.whatsapp.fixtures import fixture
from whatsapp import health, problems, services
from whatsapp.inbound.parse import QualityUpdate, parse
from whatsapp.inbound.store import store
from whatsapp.models import Message, WhatsAppAccount
from whatsapp.outbox import send
from whatsapp.outbox.accept import messages_accept
from whatsapp.testing.fake_graph import SERVICE_UNAVAILABLE

pytestmark = pytest.mark.django_db

LIST = reverse("streams:list")
OTHER_CALLBACK = "https://elsewhere.example/whatsapp-hook"


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    """A Ready real stream as Create Stream leaves it: its callback registered with Meta."""
    stream = whatsapp_stream(account=account, fake_graph=fake_graph)
    services.whatsapp_account_register_callback(account=_whatsapp(stream))
    return stream


@pytest.fixture
def emails(monkeypatch):
    """Each problem's e-mail task run as it is published (after its check commits)."""
    monkeypatch.setattr(
        problems.notify_credential_problem,
        "apply_async",
        lambda *, args, **kwargs: problems.credential_problem_notify(problem_id=args[0]),
    )
    return mail.outbox


def _whatsapp(stream) -> WhatsAppAccount:
    return WhatsAppAccount.objects.get(stream=stream)


def _check_url(stream) -> str:
    return reverse("whatsapp_credentials_check", args=[stream.uid])


def _tab(stream) -> str:
    return reverse("streams:tab", args=[stream.uid, "whatsapp"])


def _check(client, stream, django_capture_on_commit_callbacks) -> str:
    """Press Check now; the WhatsApp tab it returns to."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_check_url(stream), follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _needs_attention_on_list(client) -> bool:
    return ">Needs attention</span>" in client.get(LIST).content.decode()


@pytest.fixture
def check(owner_client, stream, django_capture_on_commit_callbacks):
    return lambda: _check(owner_client, stream, django_capture_on_commit_callbacks)


# -- a healthy stream


def test_it_finds_nothing_wrong_with_a_working_stream(check, owner_client, stream, fake_graph):
    page = check()
    assert "Checked with Meta: the credentials work." in page
    assert "Needs attention" not in page
    assert "No problem found when Meta was last asked" in page
    assert not _needs_attention_on_list(owner_client)
    asked = {(r.method, r.path.split("/", 2)[2]) for r in fake_graph.requests[-4:]}
    number = fake_graph.business.phone_numbers[0]["id"]
    assert asked == {
        ("GET", "me/permissions"),
        ("GET", "app"),
        ("GET", f"{fake_graph.business.waba_id}/subscribed_apps"),
        ("GET", number),
    }


# -- each problem, found and cleared


def test_it_shows_a_token_meta_rejects_as_needing_attention(check, owner_client, fake_graph):
    fake_graph.business.token = "EAAG-rotated-elsewhere"
    page = check()
    assert "Checked with Meta: 1 problem." in page
    assert "The access token was rejected by Meta (it expired or was revoked)." in page
    assert "Paste a new permanent token under Update token" in page
    assert _needs_attention_on_list(owner_client)


def test_it_clears_a_rejected_token_when_a_later_check_finds_it_works(
    check, owner_client, stream, fake_graph
):
    token = fake_graph.business.token
    fake_graph.business.token = "EAAG-rotated-elsewhere"
    check()
    fake_graph.business.token = token
    page = check()
    assert "The access token was rejected" not in page
    assert not _needs_attention_on_list(owner_client)
    assert _whatsapp(stream).token_rejected_at is None


def test_it_names_a_missing_permission(check, owner_client, fake_graph):
    fake_graph.business.permissions["whatsapp_business_messaging"] = "declined"
    page = check()
    assert (
        "The access token lacks a permission the stream needs: whatsapp_business_messaging." in page
    )
    assert _needs_attention_on_list(owner_client)


def test_it_clears_a_missing_permission_once_granted(check, owner_client, fake_graph):
    fake_graph.business.permissions["whatsapp_business_messaging"] = "declined"
    check()
    fake_graph.business.permissions["whatsapp_business_messaging"] = "granted"
    assert "lacks a permission" not in check()
    assert not _needs_attention_on_list(owner_client)


def test_it_finds_a_business_no_longer_subscribed_to_the_app(check, owner_client, fake_graph):
    fake_graph.unsubscribe(fake_graph.business)
    page = check()
    assert "Checked with Meta: 1 problem." in page
    assert "is no longer subscribed to your Meta app" in page
    assert "Register with Meta" in page
    assert _needs_attention_on_list(owner_client)


def test_it_clears_the_subscription_problem_after_register_with_meta(
    check, owner_client, stream, fake_graph
):
    fake_graph.unsubscribe(fake_graph.business)
    check()
    owner_client.post(_tab(stream), {"register_callback": "1"})
    assert "no longer subscribed" not in check()
    assert not _needs_attention_on_list(owner_client)


def test_it_finds_a_number_whose_webhooks_go_to_another_url(check, owner_client, fake_graph):
    business = fake_graph.business
    business.number_callbacks[business.phone_numbers[0]["id"]] = OTHER_CALLBACK
    page = check()
    assert "Meta sends the webhooks of +1 555-000-1111 to another URL" in page
    # Another URL may be another stream's secret: it is not shown.
    assert OTHER_CALLBACK not in page
    assert _needs_attention_on_list(owner_client)


def test_it_clears_the_callback_problem_when_the_other_url_is_removed(
    check, owner_client, fake_graph
):
    business = fake_graph.business
    business.number_callbacks[business.phone_numbers[0]["id"]] = OTHER_CALLBACK
    check()
    business.number_callbacks.clear()
    assert "to another URL" not in check()
    assert not _needs_attention_on_list(owner_client)


def test_it_changes_nothing_when_meta_cannot_be_reached(check, owner_client, fake_graph):
    fake_graph.business.token = "EAAG-rotated-elsewhere"
    check()
    fake_graph.fail_next(SERVICE_UNAVAILABLE)
    page = check()
    assert "The check did not finish" in page
    assert "The access token was rejected by Meta" in page


# -- a 190 during a send


def test_it_puts_a_stream_in_needs_attention_when_a_send_meets_a_rejected_token(
    owner_client, stream, fake_graph, emails, django_capture_on_commit_callbacks
):
    contact_wrote(stream, "4915112345678")
    _, [result] = messages_accept(
        stream=stream,
        items=[
            {
                "sender": "15550001111",
                "recipient_phone": "4915112345678",
                "type": "text",
                "message_content": "Hello",
            }
        ],
    )
    fake_graph.business.token = "EAAG-rotated-elsewhere"
    with django_capture_on_commit_callbacks(execute=True):
        send.messages_send(message_ids=[Message.objects.get(uuid=result.message_uuid).pk])
    assert _needs_attention_on_list(owner_client)
    page = owner_client.get(_tab(stream)).content.decode()
    assert "The access token was rejected by Meta" in page
    assert [message.subject for message in emails] == ["Orders needs attention: token rejected"]


# -- e-mails


def test_it_emails_the_admins_once_per_problem(check, owner, teammate, fake_graph, emails):
    fake_graph.unsubscribe(fake_graph.business)
    check()
    check()
    assert len(emails) == 1
    assert emails[0].to == [owner.email]
    assert emails[0].subject == "Orders needs attention: app unsubscribed"
    assert "is no longer subscribed to your Meta app" in emails[0].body
    assert "Register with Meta" in emails[0].body


def test_it_emails_again_when_a_cleared_problem_comes_back(check, fake_graph, emails):
    token = fake_graph.business.token
    fake_graph.business.token = "EAAG-rotated-elsewhere"
    check()
    fake_graph.business.token = token
    check()
    fake_graph.business.token = "EAAG-rotated-again"
    check()
    assert [message.subject for message in emails] == ["Orders needs attention: token rejected"] * 2


# -- the daily check


def test_the_daily_check_fans_out_one_task_per_real_stream(
    account, stream, demo_stream, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(health.check_credentials, "apply_async") as published,
        django_capture_on_commit_callbacks(execute=True),
    ):
        health.check_all_credentials()
    assert [call.kwargs["args"] for call in published.call_args_list] == [(_whatsapp(stream).pk,)]


def test_the_daily_check_sends_again_an_email_that_did_not_go_out(
    stream, django_capture_on_commit_callbacks
):
    problem = _whatsapp(stream).problems.create(
        kind="app_unsubscribed", detected_at=timezone.now() - timedelta(hours=1)
    )
    with (
        mock.patch.object(health.check_credentials, "apply_async"),
        mock.patch.object(problems.notify_credential_problem, "apply_async") as published,
        django_capture_on_commit_callbacks(execute=True),
    ):
        health.check_all_credentials()
    assert [call.kwargs["args"] for call in published.call_args_list] == [(problem.pk,)]


def test_the_daily_check_records_a_problem(owner_client, stream, fake_graph):
    fake_graph.unsubscribe(fake_graph.business)
    health.check_credentials(_whatsapp(stream).pk)
    health.check_credentials(_whatsapp(stream).pk)
    assert _needs_attention_on_list(owner_client)
    assert _whatsapp(stream).problems.count() == 1


# -- who may check


def test_a_member_who_is_not_an_admin_sees_the_state_but_cannot_check(
    teammate_client, stream, fake_graph
):
    # As every change in the console: members read, admins act.
    assert "Check now" not in teammate_client.get(_tab(stream)).content.decode()
    asked = len(fake_graph.requests)
    assert teammate_client.post(_check_url(stream)).status_code == 403
    assert len(fake_graph.requests) == asked


def test_another_accounts_member_gets_404_and_meta_is_not_asked(
    client, outsider, stream, fake_graph
):
    client.force_login(outsider)
    asked = len(fake_graph.requests)
    response = client.post(_check_url(stream))
    assert response.status_code == 404
    assert len(fake_graph.requests) == asked


def test_the_check_refuses_get(owner_client, stream):
    assert owner_client.get(_check_url(stream)).status_code == 405


# -- quality and messaging limit from Meta's webhooks


def test_it_shows_a_quality_update_on_the_whatsapp_tab(owner_client, stream):
    store(stream=stream, events=parse(fixture("phone_number_quality_update")))
    page = owner_client.get(_tab(stream)).content.decode()
    assert "Meta reported <code>+1 555-000-1111</code>: UPGRADE, messaging limit TIER_10K" in page


def test_it_ignores_a_quality_update_for_a_number_not_the_streams(owner_client, stream):
    update = QualityUpdate(display_phone_number="19995550000", event="FLAGGED", messaging_limit="")
    store(stream=stream, events=[update])
    assert "Meta reported" not in owner_client.get(_tab(stream)).content.decode()
