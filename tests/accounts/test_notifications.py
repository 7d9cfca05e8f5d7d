from datetime import timedelta

import pytest
from django.utils import timezone

from textpeak.accounts import beta
from textpeak.accounts.models import BetaAccessRequest

pytestmark = pytest.mark.django_db


def _decided(account, owner, support, *, minutes_ago):
    request, _ = beta.beta_access_request(
        account=account, feature=beta.Feature.WHATSAPP_STREAMS, user=owner
    )
    beta.beta_access_review(request_ids=[request.id], reviewer=support, approve=True)
    BetaAccessRequest.objects.filter(id=request.id).update(
        reviewed_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return request


def test_the_sweeper_finds_decisions_whose_email_was_never_sent(account, owner, support):
    request = _decided(account, owner, support, minutes_ago=5)
    cutoff = timezone.now() - timedelta(minutes=2)
    assert beta.decisions_awaiting_notification(older_than=cutoff) == [request.id]


def test_the_sweeper_leaves_fresh_decisions_to_their_own_task(account, owner, support):
    _decided(account, owner, support, minutes_ago=0)
    cutoff = timezone.now() - timedelta(minutes=2)
    assert beta.decisions_awaiting_notification(older_than=cutoff) == []


def test_the_sweeper_skips_decisions_already_emailed(account, owner, support):
    request = _decided(account, owner, support, minutes_ago=5)
    beta.beta_access_notify(request_id=request.id)
    cutoff = timezone.now() - timedelta(minutes=2)
    assert beta.decisions_awaiting_notification(older_than=cutoff) == []


def test_the_sweeper_gives_up_after_three_days(account, owner, support):
    _decided(account, owner, support, minutes_ago=4 * 24 * 60)
    cutoff = timezone.now() - timedelta(minutes=2)
    assert beta.decisions_awaiting_notification(older_than=cutoff) == []
