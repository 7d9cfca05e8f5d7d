"""The side panel's WhatsApp and Request API tabs, the drawer, and Meta's callback verification."""

import html

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import StreamFactory
from whatsapp import services
from whatsapp.graph.errors import AuthError
from whatsapp.models import WhatsAppAccount
from whatsapp.testing.fake_graph import message_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(account, whatsapp_access, fake_graph):
    """A Ready stream connected to the fake's business, its senders and templates fetched."""
    stream = StreamFactory(account=account, name="Orders", setup_progress=4)
    whatsapp = WhatsAppAccount(stream=stream, business_id=fake_graph.business.waba_id)
    whatsapp.set_access_token(fake_graph.business.token)
    whatsapp.save()
    services.whatsapp_account_refresh(account=whatsapp)
    return stream


def _tab(stream, tab="whatsapp"):
    return reverse("streams:tab", args=[stream.uid, tab])


def _whatsapp(stream):
    return WhatsAppAccount.objects.get(stream=stream)


# -- WhatsApp tab


def test_it_shows_the_callback_url_and_verify_token(owner_client, stream):
    page = owner_client.get(_tab(stream)).content.decode()
    callback = services.callback_url(_whatsapp(stream))
    assert callback.startswith(settings.SITE_URL + "/webhooks/whatsapp/")
    assert str(stream.uid) not in callback
    assert "Callback URL" in page
    assert f"<code>{callback}</code>" in page
    assert "Verify token" in page
    assert f"<code>{_whatsapp(stream).verify_token}</code>" in page


def test_it_shows_the_token_by_its_last_four_characters_only(owner_client, stream, fake_graph):
    page = owner_client.get(_tab(stream)).content.decode()
    assert f"•••• {fake_graph.business.token[-4:]}" in page
    assert fake_graph.business.token not in page


def test_it_keeps_the_old_token_when_the_new_one_is_refused(owner_client, stream, fake_graph):
    response = owner_client.post(_tab(stream), {"update_token": "1", "access_token": "EAAGwrong"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Meta refused the token: “Invalid OAuth access token" in page
    assert _whatsapp(stream).access_token() == fake_graph.business.token
    assert "EAAGwrong" not in page


def test_replacing_the_settings_raises_metas_refusal_and_keeps_the_old_token(stream, fake_graph):
    account = _whatsapp(stream)

    with pytest.raises(AuthError):
        services.whatsapp_settings_replace(
            account=account, business_id=account.business_id, access_token="EAAGwrong"
        )

    assert _whatsapp(stream).access_token() == fake_graph.business.token


def test_it_replaces_the_token_with_a_good_one(owner_client, stream, fake_graph):
    fake_graph.business.token = "EAAGrotated-token-7c1d"
    response = owner_client.post(
        _tab(stream), {"update_token": "1", "access_token": "EAAGrotated-token-7c1d"}, follow=True
    )
    page = response.content.decode()
    assert "Token updated and checked with WhatsApp." in page
    assert "•••• 7c1d" in page
    assert _whatsapp(stream).access_token() == "EAAGrotated-token-7c1d"


def test_it_clears_a_rejected_token_warning_with_a_good_token(owner_client, stream, fake_graph):
    fake_graph.business.token = "EAAGrotated-token-7c1d"
    owner_client.post(_tab(stream), {"refresh": "1"})
    assert (
        "The access token was rejected by Meta" in owner_client.get(_tab(stream)).content.decode()
    )
    owner_client.post(_tab(stream), {"update_token": "1", "access_token": "EAAGrotated-token-7c1d"})
    assert (
        "The access token was rejected by Meta"
        not in owner_client.get(_tab(stream)).content.decode()
    )


def test_it_shows_an_error_when_update_token_is_pressed_without_a_token(owner_client, stream):
    response = owner_client.post(_tab(stream), {"update_token": "1", "access_token": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_it_refreshes_the_templates_after_they_change_at_whatsapp(owner_client, stream, fake_graph):
    templates = fake_graph.business.templates
    templates[:] = [t for t in templates if t["name"] != "order_update"]
    templates.append(message_template("shipping_notice", id="800000000000099"))
    response = owner_client.post(_tab(stream), {"refresh": "1"}, follow=True)
    page = response.content.decode()
    assert "Senders and templates refreshed from WhatsApp." in page
    assert "<code>shipping_notice</code>" in page
    assert "<code>order_update</code>" not in page
    assert sorted(_whatsapp(stream).templates.values_list("name", flat=True)) == [
        "appointment_reminder",
        "hello_world",
        "shipping_notice",
    ]


def test_it_shows_the_error_when_refresh_fails(owner_client, stream, fake_graph):
    fake_graph.fail_next(status=500, code=2, message="Service temporarily unavailable")
    response = owner_client.post(_tab(stream), {"refresh": "1"})
    assert response.status_code == 200
    assert "WhatsApp could not be reached" in response.content.decode()
    assert _whatsapp(stream).templates.count() == 3


def test_it_registers_the_callback_with_meta(owner_client, stream, fake_graph):
    owner_client.post(_tab(stream), {"register_callback": "1"})
    subscription = fake_graph.subscriptions[fake_graph.business.waba_id]
    assert subscription.override_callback_uri == services.callback_url(_whatsapp(stream))
    assert subscription.verify_token == _whatsapp(stream).verify_token
    assert _whatsapp(stream).callback_registered_at is not None


def test_it_warns_until_a_stream_without_app_secret_has_one(
    owner_client, whatsapp_access, stream, fake_graph
):
    banner = "Meta's webhooks to this stream are refused until its app secret is saved"
    page = owner_client.get(_tab(stream)).content.decode()
    assert banner in html.unescape(page)
    assert reverse("streams:setup", args=[stream.uid, "whatsapp"]) in page
    owner_client.post(
        reverse("streams:setup", args=[stream.uid, "whatsapp"]),
        {"business_id": fake_graph.business.waba_id, "app_secret": "s3cret-app-9f2c"},
    )
    page = owner_client.get(_tab(stream)).content.decode()
    assert banner not in html.unescape(page)
    assert "•••• 9f2c" in page


def _rotate(stream):
    return reverse("whatsapp_callback_key_rotate", args=[stream.uid])


def test_it_asks_before_rotating_the_callback_url(owner_client, stream):
    old = services.callback_url(_whatsapp(stream))
    page = owner_client.get(
        reverse("whatsapp_callback_key_rotate_confirm", args=[stream.uid])
    ).content.decode()
    assert "New callback URL?" in page
    assert f'action="{_rotate(stream)}"' in page
    assert services.callback_url(_whatsapp(stream)) == old


def test_it_offers_rotate_in_a_pop_up_on_the_whatsapp_tab(owner_client, stream):
    page = owner_client.get(_tab(stream)).content.decode()
    confirm = reverse("whatsapp_callback_key_rotate_confirm", args=[stream.uid])
    assert f'href="{confirm}" data-dialog-open="confirm-rotate-callback"' in page
    assert f'action="{_rotate(stream)}"' in page


def test_it_rotates_the_callback_url_and_registers_the_new_one_with_meta(
    owner_client, stream, fake_graph
):
    old = services.callback_url(_whatsapp(stream))
    response = owner_client.post(_rotate(stream), follow=True)
    new = services.callback_url(_whatsapp(stream))
    page = response.content.decode()
    assert new != old
    assert f"<code>{new}</code>" in page
    assert old not in page
    assert "New callback URL" in page
    subscription = fake_graph.subscriptions[fake_graph.business.waba_id]
    assert subscription.override_callback_uri == new
    assert _whatsapp(stream).callback_registered_at is not None


def test_it_shows_why_meta_did_not_take_the_rotated_callback_url(owner_client, stream, fake_graph):
    fake_graph.fail_next(status=500, code=2, message="Service temporarily unavailable")
    response = owner_client.post(_rotate(stream), follow=True)
    page = response.content.decode()
    assert "Automatic registration failed: WhatsApp could not be reached" in page
    assert f"<code>{services.callback_url(_whatsapp(stream))}</code>" in page


def test_it_redraws_the_side_panel_after_rotating_in_it(owner_client, stream):
    response = owner_client.post(
        _rotate(stream), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="stream-panel"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"<code>{services.callback_url(_whatsapp(stream))}</code>" in page
    assert "<html" not in page


def test_it_offers_to_continue_the_setup_without_a_whatsapp_account(
    owner_client, account, whatsapp_access
):
    draft = StreamFactory(account=account, status="draft", setup_progress=1)
    page = owner_client.get(_tab(draft)).content.decode()
    assert "WhatsApp is not set up yet." in page
    assert reverse("streams:setup", args=[draft.uid, "whatsapp"]) in page


# -- Request API tab


def test_it_fills_the_request_bodies_with_the_first_sender_and_an_approved_template(
    owner_client, stream
):
    page = html.unescape(owner_client.get(_tab(stream, "api")).content.decode())
    assert '"sender": "15550001111"' in page
    assert '"name": "hello_world"' in page
    assert "appointment_reminder" not in page


def test_it_shows_placeholders_before_whatsapp_is_set_up(owner_client, account, whatsapp_access):
    draft = StreamFactory(account=account, status="draft")
    page = html.unescape(owner_client.get(_tab(draft, "api")).content.decode())
    assert '"sender": "<sender number>"' in page
    assert '"name": "<approved template>"' in page


# -- the drawer


def test_it_returns_the_tab_alone_for_the_drawer(owner_client, stream):
    response = owner_client.get(_tab(stream), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="stream-panel")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Callback URL" in page
    assert 'class="sidebar"' not in page
    assert "<html" not in page


def test_it_returns_the_info_tab_alone_for_the_drawer(owner_client, stream):
    response = owner_client.get(
        reverse("streams:detail", args=[stream.uid]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="stream-panel",
    )
    page = response.content.decode()
    assert '<h1 id="panel-title">Orders</h1>' in page
    assert 'class="sidebar"' not in page


def test_it_returns_a_whole_page_outside_the_drawer(owner_client, stream):
    page = owner_client.get(_tab(stream)).content.decode()
    assert 'class="sidebar"' in page
    assert "Callback URL" in page


# -- Meta's callback verification


def _verify(client, stream, **params):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    query.update(params)
    return client.get(services.callback_path(_whatsapp(stream)), query)


def test_it_answers_metas_verification_with_the_challenge(client, stream):
    response = _verify(client, stream, **{"hub.verify_token": _whatsapp(stream).verify_token})
    assert response.status_code == 200
    assert response.content == b"1158201444"


def test_it_refuses_metas_verification_with_a_wrong_token(client, stream):
    response = _verify(client, stream, **{"hub.verify_token": "not-the-token"})
    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_it_refuses_metas_verification_without_subscribe(client, stream):
    token = _whatsapp(stream).verify_token
    response = _verify(client, stream, **{"hub.mode": "unsubscribe", "hub.verify_token": token})
    assert response.status_code == 403


def test_it_returns_404_to_meta_for_a_deleted_stream(client, stream):
    token = _whatsapp(stream).verify_token
    stream.deleted_at = stream.created_at
    stream.save()
    assert _verify(client, stream, **{"hub.verify_token": token}).status_code == 404


# -- Sending rate per sender


def _sender(stream):
    return _whatsapp(stream).senders.get()


def test_it_saves_a_senders_messages_per_second(owner_client, stream):
    sender = _sender(stream)
    response = owner_client.post(
        _tab(stream),
        {"sender_rate": "1", "sender": sender.phone_number_id, "messages_per_second": "250"},
    )
    assert response.status_code == 302
    assert _sender(stream).messages_per_second == 250
    assert 'value="250"' in owner_client.get(_tab(stream)).content.decode()


def test_it_refuses_a_rate_above_whatsapps_limit(owner_client, stream):
    sender = _sender(stream)
    page = owner_client.post(
        _tab(stream),
        {"sender_rate": "1", "sender": sender.phone_number_id, "messages_per_second": "1001"},
    ).content.decode()
    assert "at most 1,000 messages per second per number" in page
    assert _sender(stream).messages_per_second == 80


def test_it_refuses_the_rate_of_a_sender_of_another_stream(owner_client, stream, account):
    other = StreamFactory(account=account)
    whatsapp = WhatsAppAccount.objects.create(stream=other)
    foreign = whatsapp.senders.create(phone_number_id="999", display_phone_number="+1 555 999")
    page = owner_client.post(
        _tab(stream), {"sender_rate": "1", "sender": "999", "messages_per_second": "5"}
    ).content.decode()
    assert "not one of this stream's" in html.unescape(page)
    foreign.refresh_from_db()
    assert foreign.messages_per_second == 80
