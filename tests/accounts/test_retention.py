"""Retention periods: the settings, checked at start-up, and an account's own, which support
sets in Django admin."""

import pytest
from django.core.checks import run_checks
from django.urls import reverse

from textpeak.accounts.models import AccountRetention

pytestmark = pytest.mark.django_db

ADD = reverse("admin:accounts_accountretention_add")
PERIODS = {"content_days": "", "payload_days": "", "delivery_days": "", "message_days": ""}


def test_support_sets_an_accounts_own_periods(support_client, account):
    response = support_client.post(
        ADD, {**PERIODS, "account": account.pk, "message_days": "180", "content_days": "7"}
    )
    assert response.status_code == 302
    override = AccountRetention.objects.get(account=account)
    assert (override.message_days, override.content_days, override.delivery_days) == (180, 7, None)


def test_support_changes_an_accounts_period(support_client, account):
    override = AccountRetention.objects.create(account=account, delivery_days=60)
    url = reverse("admin:accounts_accountretention_change", args=[override.pk])
    response = support_client.post(url, {**PERIODS, "account": account.pk, "delivery_days": "14"})
    assert response.status_code == 302
    override.refresh_from_db()
    assert override.delivery_days == 14


def test_messages_are_kept_at_least_8_days(support_client, account):
    response = support_client.post(ADD, {**PERIODS, "account": account.pk, "message_days": "7"})
    assert "Ensure this value is greater than or equal to 8." in response.content.decode()
    assert not AccountRetention.objects.exists()


def test_a_setting_below_its_minimum_fails_the_checks(settings):
    settings.RETENTION_MESSAGE_DAYS = 5
    errors = [error for error in run_checks() if error.id == "textpeak.E003"]
    assert [error.msg for error in errors] == [
        "RETENTION_MESSAGE_DAYS is 5: it must be at least 8."
    ]


def test_the_default_settings_pass_the_checks():
    assert not [error for error in run_checks() if error.id == "textpeak.E003"]
