"""Background work on a real Celery worker and a real Redis broker.

These run with REDIS_URL set (``.ci/run`` sets it). A worker thread consumes the suite's own
queue, so the tasks run exactly as in production, after the request's transaction commits.
"""

import time
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.workers import running_worker
from textpeak.accounts import beta
from textpeak.accounts.models import BetaAccessRequest
from textpeak.accounts.tasks import sweep_beta_access_notifications

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CHANGELIST = reverse("admin:accounts_betaaccessrequest_changelist")


def _wait_for_mail(count=1, seconds=15):
    deadline = time.monotonic() + seconds
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return mail.outbox


@pytest.fixture
def pending(account, owner):
    request, _ = beta.beta_access_request(
        account=account, feature=beta.Feature.WHATSAPP_STREAMS, user=owner
    )
    return request


def test_a_worker_emails_the_requester_after_approval_in_admin(support_client, pending, worker):
    support_client.post(
        CHANGELIST, {"action": "approve", ACTION_CHECKBOX_NAME: [pending.id], "confirm": "yes"}
    )
    outbox = _wait_for_mail()
    assert [message.to for message in outbox] == [["owner@acme.test"]]
    pending.refresh_from_db()
    assert pending.notified_at is not None


def test_approval_succeeds_with_the_broker_down_and_the_sweeper_sends_the_email_later(
    support_client, pending, broker_outage
):
    broker_outage.start()
    started = time.monotonic()
    response = support_client.post(
        CHANGELIST, {"action": "approve", ACTION_CHECKBOX_NAME: [pending.id], "confirm": "yes"}
    )
    assert response.status_code == 302
    assert time.monotonic() - started < 2
    pending.refresh_from_db()
    assert pending.status == "approved"

    broker_outage.end()
    BetaAccessRequest.objects.filter(id=pending.id).update(
        reviewed_at=timezone.now() - timedelta(minutes=5)
    )
    with running_worker():
        sweep_beta_access_notifications()  # what beat runs every minute
        assert [message.to for message in _wait_for_mail()] == [["owner@acme.test"]]
