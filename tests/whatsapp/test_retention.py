"""Retention of WhatsApp rows: the purge blanks old contents and deletes old messages and
payloads, never what is still queued, follows an account's own periods, and leaves the Info
tab's figures as they were."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory, SentMessageFactory, StreamFactory
from textpeak.accounts.models import AccountRetention
from textpeak.lib.purge import Run
from whatsapp.models import InboundPayload, Message, MessageEvent
from whatsapp.retention import purge_expired_messages, whatsapp_purge

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account)


def _message(stream, days: float, **fields) -> Message:
    """A message the stream sent ``days`` ago."""
    return SentMessageFactory(
        stream=stream, wamid=None, created_at=timezone.now() - timedelta(days=days), **fields
    )


def _info_figures(client, stream) -> dict[str, tuple[str, str, str]]:
    """The Info tab's Messages table: each status's Today, 7 days and All time."""
    page = client.get(reverse("streams:detail", args=[stream.uid])).content.decode()
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>', page
    )
    assert rows, "the Info tab shows no Messages table"
    return {label: tuple(figures) for label, *figures in rows}


def test_it_deletes_messages_older_than_90_days_with_their_history(stream):
    old = _message(stream, 91)
    MessageEvent.objects.create(message=old, status=Message.Status.SENT)
    recent = _message(stream, 89)
    whatsapp_purge()
    assert list(Message.objects.all()) == [recent]
    assert not MessageEvent.objects.filter(message_id=old.pk).exists()


def test_it_blanks_the_contents_of_messages_older_than_30_days(stream):
    old = _message(stream, 31)
    recent = _message(stream, 29)
    whatsapp_purge()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.payload == {}
    assert old.status == Message.Status.SENT
    assert recent.payload == {"body": "Your order is on its way", "preview_url": False}


def test_it_keeps_queued_and_claimed_messages_however_old(stream):
    queued = _message(stream, 200, status=Message.Status.QUEUED)
    claimed = _message(
        stream,
        200,
        status=Message.Status.QUEUED,
        claim_id="6a1e5a39-0f4b-4b8e-9d3c-2f1f3d2c9b11",
        claimed_until=timezone.now() + timedelta(minutes=5),
    )
    whatsapp_purge()
    assert set(Message.objects.all()) == {queued, claimed}
    assert all(m.payload["body"] for m in Message.objects.all())


def test_it_follows_the_accounts_own_periods(stream, account):
    AccountRetention.objects.create(account=account, message_days=10, content_days=60)
    other = StreamFactory(account=AccountFactory())
    ours_old, ours_content = _message(stream, 11), _message(stream, 9)
    theirs_old = _message(other, 11)
    whatsapp_purge()
    assert not Message.objects.filter(pk=ours_old.pk).exists()
    assert Message.objects.filter(pk=theirs_old.pk).exists()
    ours_content.refresh_from_db()
    assert ours_content.payload["body"]


def test_it_blanks_contents_an_account_keeps_for_less_time(stream, account):
    AccountRetention.objects.create(account=account, content_days=2)
    message = _message(stream, 3)
    whatsapp_purge()
    message.refresh_from_db()
    assert message.payload == {}


def test_the_info_tabs_figures_are_unchanged_by_a_purge(owner_client, stream):
    for days, status in [(0, "read"), (3, "delivered"), (100, "read"), (100, "sent_failed")]:
        _message(stream, days, status=status)
    _message(stream, 400, status="delivered", direction="inbound")
    _message(stream, 120, status="queued")
    before = _info_figures(owner_client, stream)
    whatsapp_purge()
    assert Message.objects.count() == 3  # the two recent ones and the queued one
    assert _info_figures(owner_client, stream) == before
    assert before["Read"] == ("1", "1", "2")
    assert before["Delivered"] == ("0", "1", "2")


def _chart_bars(client, stream) -> list[str]:
    """The tooltips of the Info tab's chart bars, both charts."""
    page = client.get(reverse("streams:detail", args=[stream.uid])).content.decode()
    return sorted(re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", page))


def test_the_info_tabs_charts_still_count_the_days_whose_messages_were_purged(
    owner_client, stream, account
):
    AccountRetention.objects.create(account=account, message_days=10)
    for category in ("marketing", "utility", "utility"):
        _message(stream, 12, status="read", pricing_category=category)
    _message(stream, 1, status="delivered")
    before = _chart_bars(owner_client, stream)
    whatsapp_purge()
    assert Message.objects.count() == 1
    assert _chart_bars(owner_client, stream) == before
    assert sum(": 3 Read" in bar for bar in before) == 1
    assert sum(": 2 Utility" in bar for bar in before) == 1


def test_a_second_run_changes_nothing(owner_client, stream):
    _message(stream, 100)
    _message(stream, 40)
    first = whatsapp_purge()
    figures = _info_figures(owner_client, stream)
    second = whatsapp_purge()
    assert first.removed == {"messages": 1, "contents": 1}
    assert second.removed == {}
    assert _info_figures(owner_client, stream) == figures


def test_it_deletes_payloads_that_failed_every_attempt_after_30_days(stream):
    failed = InboundPayload.objects.create(
        stream=stream,
        body=b"{}",
        attempts=InboundPayload.MAX_ATTEMPTS,
        received_at=timezone.now() - timedelta(days=31),
    )
    recent = InboundPayload.objects.create(
        stream=stream,
        body=b"{}",
        attempts=InboundPayload.MAX_ATTEMPTS,
        received_at=timezone.now() - timedelta(days=29),
    )
    whatsapp_purge()
    assert list(InboundPayload.objects.all()) == [recent]
    assert failed.pk not in InboundPayload.objects.values_list("pk", flat=True)


def test_it_keeps_payloads_still_to_be_stored_however_old(stream):
    waiting = InboundPayload.objects.create(
        stream=stream, body=b"{}", attempts=1, received_at=timezone.now() - timedelta(days=300)
    )
    whatsapp_purge()
    assert list(InboundPayload.objects.all()) == [waiting]


def test_it_stops_when_its_time_is_up(stream):
    _message(stream, 100)
    run = whatsapp_purge(run=Run(seconds=0))
    assert run.finished is False
    assert Message.objects.count() == 1


def test_the_beat_task_runs_the_purge(stream):
    _message(stream, 100)
    purge_expired_messages()
    assert not Message.objects.exists()
