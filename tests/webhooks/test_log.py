"""The Webhooks tab: Send delivery statuses, the signing secret, Test webhook, the delivery
log with Redeliver, and the banner and Enable of a webhook disabled after failures."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import StreamFactory
from webhooks import services
from webhooks.builder import MASK
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(stream, receiver):
    return services.webhook_save(
        stream=stream, method="POST", url=receiver.url(), headers=[("Authorization", "Bearer k")]
    )


def _tab(stream):
    return reverse("streams:tab", args=[stream.uid, "webhooks"])


def _page(client, stream):
    return html.unescape(client.get(_tab(stream)).content.decode())


def test_it_saves_send_delivery_statuses(owner_client, stream, receiver):
    owner_client.post(
        _tab(stream), {"method": "POST", "url": receiver.url(), "send_statuses": "on"}
    )
    assert WebhookEndpoint.objects.get(stream=stream).send_statuses is True


def test_it_shows_the_signing_secret_masked_and_never_in_full(owner_client, stream, endpoint):
    page = _page(owner_client, stream)
    secret = endpoint.signing_secret()
    assert f"whsec_••••{secret[-4:]}" in page
    assert secret not in page


def test_it_rotates_the_signing_secret(owner_client, stream, endpoint):
    before = endpoint.signing_secret()
    response = owner_client.post(reverse("webhooks:rotate_secret", args=[stream.uid]))
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.signing_secret() != before
    assert endpoint.signing_secret() in response.content.decode()


def test_test_webhook_shows_the_servers_answer_inline(owner_client, stream, endpoint, receiver):
    receiver.answer(200, body=b"thanks")
    response = owner_client.post(
        reverse("webhooks:test", args=[stream.uid]), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "Your server answered <strong>200</strong>" in page
    assert "thanks" in page
    assert receiver.requests[-1].headers["Authorization"] == "Bearer k"


def test_test_webhook_explains_a_failure(owner_client, stream, endpoint, receiver):
    receiver.answer(500, body=b"boom")
    page = owner_client.post(
        reverse("webhooks:test", args=[stream.uid]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Your server answered <strong>500</strong>" in page
    assert "only 2xx counts as delivered" in page


def test_the_log_lists_deliveries_with_their_attempts(owner_client, stream, endpoint, receiver):
    owner_client.post(reverse("webhooks:test", args=[stream.uid]))
    page = _page(owner_client, stream)
    assert "webhook.test" in page
    assert "HTTP 200" in page
    log = page.split("Delivery log")[1]
    assert f"Authorization: {MASK}" in log
    assert "Bearer k" not in log


def test_redeliver_sends_the_event_again_as_a_new_delivery(owner_client, stream, endpoint):
    original = Delivery.objects.create(endpoint=endpoint, event="message.received", payload={})
    response = owner_client.post(reverse("webhooks:redeliver", args=[stream.uid, original.uid]))
    assert response.status_code == 302
    assert endpoint.deliveries.count() == 2
    assert endpoint.deliveries.exclude(pk=original.pk).get().payload == original.payload


def test_a_disabled_webhook_shows_a_banner_and_can_be_enabled(owner_client, stream, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_at=timezone.now())
    page = _page(owner_client, stream)
    assert "Incoming Messages Webhook was disabled" in page
    owner_client.post(reverse("webhooks:enable", args=[stream.uid]))
    endpoint.refresh_from_db()
    assert endpoint.enabled is True
    assert "was disabled" not in _page(owner_client, stream)


@pytest.mark.parametrize("name", ["test", "rotate_secret", "enable"])
def test_another_account_gets_404(client, outsider, stream, endpoint, name):
    client.force_login(outsider)
    assert client.post(reverse(f"webhooks:{name}", args=[stream.uid])).status_code == 404


def test_another_account_cannot_redeliver(client, outsider, stream, endpoint):
    delivery = Delivery.objects.create(endpoint=endpoint, event="message.received", payload={})
    client.force_login(outsider)
    url = reverse("webhooks:redeliver", args=[stream.uid, delivery.uid])
    assert client.post(url).status_code == 404
    assert endpoint.deliveries.count() == 1


def test_the_log_of_another_stream_is_not_reachable_by_its_delivery(
    owner_client, account, stream, endpoint
):
    other = StreamFactory(account=account)
    delivery = Delivery.objects.create(endpoint=endpoint, event="message.received", payload={})
    url = reverse("webhooks:redeliver", args=[other.uid, delivery.uid])
    assert owner_client.post(url).status_code == 404


@pytest.mark.parametrize(
    ("due_in", "shown"),
    [
        (timedelta(minutes=-2), "next try within a minute"),
        (timedelta(seconds=30), "next try within a minute"),
        (timedelta(minutes=5, seconds=30), "next try in 5\xa0minutes"),
    ],
)
def test_the_log_says_when_a_pending_delivery_is_tried_again(
    owner_client, stream, endpoint, due_in, shown
):
    Delivery.objects.create(
        endpoint=endpoint,
        event="message.received",
        payload={},
        attempts=1,
        next_attempt_at=timezone.now() + due_in,
    )
    page = owner_client.get(reverse("streams:tab", args=[stream.uid, "webhooks"]))
    assert shown in html.unescape(page.content.decode())
