"""Step 2 of the wizard, WhatsApp Settings, against the fake Graph API."""

import socket

import pytest
from django.urls import reverse
from django.utils import timezone

from streams.models import Stream
from tests.factories import StreamFactory
from whatsapp import services
from whatsapp.graph.demo import DEMO_SENDERS, DEMO_TEMPLATES
from whatsapp.models import WhatsAppAccount
from whatsapp.testing.fake_graph import BAD_GATEWAY, SERVICE_UNAVAILABLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(owner_client, whatsapp_access):
    return owner_client


@pytest.fixture
def draft(account):
    """A draft whose Stream API Details are saved: the WhatsApp step is next."""
    return StreamFactory(account=account, status=Stream.Status.DRAFT, setup_progress=1)


def _step(stream, slug="whatsapp"):
    return reverse("streams:setup", args=[stream.uid, slug])


APP_SECRET = "0f4c2e9b7d1a4c8e9b7f2a4d6e8c0b1f"


def _settings(business, **fields):
    data = {
        "business_id": business.waba_id,
        "access_token": business.token,
        "app_secret": APP_SECRET,
        "action": "next",
    }
    data.update(fields)
    return data


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_goes_to_the_next_step_with_good_credentials(member, draft, fake_graph):
    response = member.post(_step(draft), _settings(fake_graph.business))
    draft.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == _step(draft, "webhook")
    assert draft.setup_progress == 2


def test_it_checks_the_credentials_with_the_graph_api(member, draft, fake_graph):
    member.post(_step(draft), _settings(fake_graph.business))
    paths = [request.path for request in fake_graph.requests]
    assert any(path.endswith(f"/{fake_graph.business.waba_id}") for path in paths)
    assert {r.headers["authorization"] for r in fake_graph.requests} == {
        f"Bearer {fake_graph.business.token}"
    }


def test_it_stores_the_senders_and_templates(member, draft, fake_graph):
    member.post(_step(draft), _settings(fake_graph.business))
    account = WhatsAppAccount.objects.get(stream=draft)
    assert [s.display_phone_number for s in account.senders.all()] == ["+1 555-000-1111"]
    assert sorted(t.name for t in account.templates.all()) == [
        "appointment_reminder",
        "hello_world",
        "order_update",
    ]
    assert account.business_name == "Acme Ltd"
    assert account.verified_at is not None


def test_it_shows_the_senders_and_templates_on_the_summary(member, draft, fake_graph):
    member.post(_step(draft), _settings(fake_graph.business))
    member.post(_step(draft, "webhook"), {"action": "skip"})
    page = member.get(_step(draft, "summary")).content.decode()
    assert "+1 555-000-1111" in page
    for name in ("order_update", "hello_world", "appointment_reminder"):
        assert f"<code>{name}</code>" in page
    assert f"<code>{fake_graph.business.waba_id}</code> · Acme Ltd" in page


def test_it_quotes_metas_message_for_a_bad_token(member, draft, fake_graph):
    response = member.post(_step(draft), _settings(fake_graph.business, access_token="EAAGbad1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "Meta refused the token: “Invalid OAuth access token - Cannot parse access token”" in page
    )


def test_it_keeps_the_draft_and_what_was_typed_after_a_bad_token(member, draft, fake_graph):
    business = fake_graph.business
    member.post(_step(draft), _settings(business, access_token="EAAGbad1"))
    draft.refresh_from_db()
    account = WhatsAppAccount.objects.get(stream=draft)
    assert (draft.status, draft.setup_progress) == ("draft", 1)
    assert account.business_id == business.waba_id
    assert account.access_token() == "EAAGbad1"
    assert account.verified_at is None
    assert account.token_rejected_at is not None


def test_it_shows_the_saved_token_by_its_last_four_characters_only(member, draft, fake_graph):
    response = member.post(_step(draft), _settings(fake_graph.business, access_token="EAAGbad1"))
    page = response.content.decode()
    assert "•••• bad1" in page
    assert "EAAGbad1" not in page
    assert f'value="{fake_graph.business.waba_id}"' in page


def test_it_shows_the_last_characters_of_a_typed_token_as_text(member, draft, fake_graph):
    # A refused token is kept, and its help text repeats its end: what was typed, not markup.
    data = _settings(fake_graph.business, access_token="EAAG<hr>", app_secret="s'<b>")
    page = member.post(_step(draft), data).content.decode()
    assert "Saved: •••• &lt;hr&gt;. Leave blank to keep it." in page
    assert "Saved: •••• &#x27;&lt;b&gt;. Leave blank to keep it." in page
    assert "<hr>" not in page
    assert "<b>" not in page


def test_it_never_renders_a_token_the_form_refuses(member, draft, fake_graph):
    response = member.post(
        _step(draft), _settings(fake_graph.business, business_id="abc", access_token="EAAGsecret")
    )
    assert "EAAGsecret" not in response.content.decode()


def test_it_keeps_the_saved_token_when_the_field_is_left_blank(member, draft, fake_graph):
    business = fake_graph.business
    member.post(_step(draft), _settings(business, action="draft"))
    response = member.post(_step(draft), _settings(business, access_token=""))
    assert response["Location"] == _step(draft, "webhook")
    assert WhatsAppAccount.objects.get(stream=draft).access_token() == business.token


def test_it_says_an_unknown_business_id_is_not_a_business_account(member, draft, fake_graph):
    response = member.post(_step(draft), _settings(fake_graph.business, business_id="999"))
    page = response.content.decode()
    assert "999 is not a WhatsApp Business Account ID" in page
    assert WhatsAppAccount.objects.get(stream=draft).business_id == "999"


@pytest.mark.parametrize("reply", [SERVICE_UNAVAILABLE, BAD_GATEWAY], ids=["500", "502"])
def test_it_says_whatsapp_could_not_be_reached_on_a_server_error(member, draft, fake_graph, reply):
    fake_graph.fail_next(reply)
    response = member.post(_step(draft), _settings(fake_graph.business))
    assert "WhatsApp could not be reached" in response.content.decode()
    draft.refresh_from_db()
    assert draft.setup_progress == 1


def test_it_says_whatsapp_could_not_be_reached_when_it_is_down(member, draft, settings):
    settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{_closed_port()}"
    response = member.post(
        _step(draft),
        {
            "business_id": "102000000000001",
            "access_token": "EAAG1234",
            "app_secret": APP_SECRET,
            "action": "next",
        },
    )
    assert "WhatsApp could not be reached" in response.content.decode()


def test_it_refuses_a_business_id_with_letters(member, draft, fake_graph):
    response = member.post(_step(draft), _settings(fake_graph.business, business_id="12ab34"))
    assert "The WhatsApp Business ID has digits only." in response.content.decode()
    assert fake_graph.requests == []
    assert not WhatsAppAccount.objects.filter(stream=draft).exists()


def test_it_requires_the_business_id_token_and_app_secret_for_save_and_next(
    member, draft, fake_graph
):
    response = member.post(_step(draft), {"action": "next"})
    page = response.content.decode()
    assert "Enter the WhatsApp Business ID." in page
    assert "Enter the permanent authentication token." in page
    assert "Enter the app secret" in page
    assert fake_graph.requests == []


def test_it_does_not_let_a_real_stream_become_ready_without_app_secret(member, account, fake_graph):
    """Saved as a draft without the secret, checked with Refresh on the summary: Create Stream
    still refuses, since nothing could check what is posted to the stream's callback."""
    draft = StreamFactory(account=account, status=Stream.Status.DRAFT, setup_progress=3)
    business = fake_graph.business
    services.whatsapp_settings_save(
        stream=draft, business_id=business.waba_id, access_token=business.token
    )
    member.post(_step(draft, "summary"), {"refresh": "1"})
    assert WhatsAppAccount.objects.get(stream=draft).verified_at is not None
    response = member.post(_step(draft, "summary"), {"action": "create"})
    draft.refresh_from_db()
    assert "Enter the app secret in WhatsApp Settings" in response.content.decode()
    assert (draft.status, draft.token_hash) == ("draft", None)


def test_it_refuses_save_and_next_without_an_app_secret(member, draft, fake_graph):
    response = member.post(_step(draft), _settings(fake_graph.business, app_secret=""))
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "Enter the app secret" in response.content.decode()
    assert draft.setup_progress == 1


def test_it_keeps_the_saved_app_secret_when_the_field_is_left_blank(member, draft, fake_graph):
    member.post(_step(draft), _settings(fake_graph.business, action="draft"))
    response = member.post(_step(draft), _settings(fake_graph.business, app_secret=""))
    assert response["Location"] == _step(draft, "webhook")
    assert WhatsAppAccount.objects.get(stream=draft).app_secret() == APP_SECRET


def test_it_says_where_meta_shows_the_app_secret(member, draft):
    page = member.get(_step(draft)).content.decode()
    assert "App settings \u203a Basic" in page


def test_it_links_step_two_to_the_help_page(member, draft):
    page = member.get(_step(draft)).content.decode()
    help_url = reverse("whatsapp_credentials_help")
    assert f'href="{help_url}"' in page
    assert "How to get your WhatsApp Business ID, permanent token and app secret" in page


def test_it_serves_the_help_page_without_a_login(client):
    response = client.get(reverse("whatsapp_credentials_help"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "How to get your WhatsApp Business ID, permanent token and app secret" in page
    for words in (
        "System users",
        "whatsapp_business_messaging",
        "whatsapp_business_management",
        "Assign assets",
        "Never",
        "App settings \u203a Basic",
        "WhatsApp Business Account ID",
    ):
        assert words in page


def test_it_saves_a_draft_without_checking_with_whatsapp(member, draft, fake_graph):
    response = member.post(_step(draft), {"business_id": "123", "action": "draft"})
    assert response["Location"] == reverse("streams:list")
    assert fake_graph.requests == []
    assert WhatsAppAccount.objects.get(stream=draft).business_id == "123"


def test_it_shows_the_saved_app_secret_by_its_last_four_characters(member, draft, fake_graph):
    member.post(_step(draft), _settings(fake_graph.business, app_secret="s3cret-app-9f2c"))
    member.post(_step(draft, "webhook"), {"action": "skip"})
    page = member.get(_step(draft, "summary")).content.decode()
    assert "•••• 9f2c" in page
    assert "s3cret-app-9f2c" not in page


def test_it_shows_the_saved_business_id_when_the_step_is_opened_again(member, draft, fake_graph):
    member.post(_step(draft), _settings(fake_graph.business))
    page = member.get(_step(draft)).content.decode()
    assert f'value="{fake_graph.business.waba_id}"' in page


# -- Demo Sending


@pytest.fixture
def demo_draft(account):
    return StreamFactory(
        account=account, status=Stream.Status.DRAFT, setup_progress=1, is_demo=True
    )


def test_it_skips_the_check_for_a_demo_stream(member, demo_draft, fake_graph):
    response = member.post(_step(demo_draft), {"action": "next"})
    assert response["Location"] == _step(demo_draft, "webhook")
    assert fake_graph.requests == []


def test_it_gives_a_demo_stream_the_demo_senders_and_templates(member, demo_draft, fake_graph):
    member.post(_step(demo_draft), {"action": "next"})
    account = WhatsAppAccount.objects.get(stream=demo_draft)
    assert [s.phone_number_id for s in account.senders.all()] == [s.id for s in DEMO_SENDERS]
    assert sorted(t.name for t in account.templates.all()) == sorted(t.name for t in DEMO_TEMPLATES)
    assert account.verified_at is not None


def test_it_asks_a_demo_stream_for_no_credentials(member, demo_draft):
    page = member.get(_step(demo_draft)).content.decode()
    assert "Demo Sending is on." in page
    assert 'name="access_token"' not in page


# -- editing a stream in use


@pytest.fixture
def ready(account, fake_graph):
    """A Ready stream whose WhatsApp settings Meta has accepted."""
    stream = StreamFactory(account=account, setup_progress=4)
    whatsapp = WhatsAppAccount(stream=stream, business_id=fake_graph.business.waba_id)
    whatsapp.set_access_token(fake_graph.business.token)
    whatsapp.save()
    services.whatsapp_account_refresh(account=whatsapp)
    return stream


def test_it_checks_a_ready_streams_settings_on_save_and_close(member, ready, fake_graph):
    response = member.post(
        _step(ready), _settings(fake_graph.business, business_id="999", action="draft")
    )
    assert "999 is not a WhatsApp Business Account ID" in response.content.decode()


def test_it_keeps_a_ready_streams_working_token_when_meta_refuses_the_new_one(
    member, ready, fake_graph
):
    response = member.post(_step(ready), _settings(fake_graph.business, access_token="EAAGtypo"))
    whatsapp = WhatsAppAccount.objects.get(stream=ready)
    assert "Meta refused the token" in response.content.decode()
    assert whatsapp.access_token() == fake_graph.business.token
    assert whatsapp.verified_at is not None


def test_it_does_not_enable_a_real_stream_without_app_secret(member, account, fake_graph):
    """A stream made Ready before the secret was required, then disabled: Enable would make it
    Ready again with a callback that takes nothing, so it says what is missing instead."""
    stream = StreamFactory(account=account, status=Stream.Status.DISABLED, setup_progress=4)
    business = fake_graph.business
    services.whatsapp_settings_save(
        stream=stream, business_id=business.waba_id, access_token=business.token
    )
    WhatsAppAccount.objects.filter(stream=stream).update(verified_at=timezone.now())
    response = member.post(reverse("streams:enable", args=[stream.uid]), follow=True)
    stream.refresh_from_db()
    assert stream.status == "disabled"
    assert "Enter the app secret in WhatsApp Settings" in response.content.decode()
