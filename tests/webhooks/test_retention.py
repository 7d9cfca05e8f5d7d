"""Retention of webhook deliveries: the purge deletes old ones with their attempts, never a
pending one, and follows an account's own period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, StreamFactory
from textpeak.accounts.models import AccountRetention
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.retention import deliveries_purge
from webhooks.tasks import purge_expired_deliveries

pytestmark = pytest.mark.django_db


def _delivery(stream, days: float, status=Delivery.Status.SUCCEEDED) -> Delivery:
    """A delivery to the stream's webhook made ``days`` ago, with one attempt."""
    endpoint = getattr(stream, "webhook", None) or services.webhook_save(
        stream=stream, method="POST", url="https://example.com/hook", headers=[]
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event="message.received",
        payload={"text": "Hello"},
        status=status,
        created_at=timezone.now() - timedelta(days=days),
    )
    DeliveryAttempt.objects.create(delivery=delivery, status_code=200, request="POST /hook")
    return delivery


def test_it_deletes_deliveries_older_than_30_days_with_their_attempts(stream):
    old, failed = _delivery(stream, 31), _delivery(stream, 31, Delivery.Status.FAILED)
    recent = _delivery(stream, 29)
    deliveries_purge()
    assert list(Delivery.objects.all()) == [recent]
    assert not DeliveryAttempt.objects.filter(delivery_id__in=[old.pk, failed.pk]).exists()


def test_it_keeps_pending_deliveries_however_old(stream):
    pending = _delivery(stream, 60, Delivery.Status.PENDING)
    deliveries_purge()
    assert list(Delivery.objects.all()) == [pending]


def test_it_follows_the_accounts_own_period(stream, account):
    AccountRetention.objects.create(account=account, delivery_days=90)
    other = StreamFactory(account=AccountFactory())
    ours, theirs = _delivery(stream, 60), _delivery(other, 60)
    deliveries_purge()
    assert list(Delivery.objects.all()) == [ours]
    assert theirs.pk not in Delivery.objects.values_list("pk", flat=True)


def test_a_second_run_changes_nothing(stream):
    _delivery(stream, 31)
    assert deliveries_purge().removed == {"deliveries": 1}
    assert deliveries_purge().removed == {}


def test_the_beat_task_runs_the_purge(stream):
    _delivery(stream, 31)
    purge_expired_deliveries()
    assert not Delivery.objects.exists()
