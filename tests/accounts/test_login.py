import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("streams:list"))
    assert response.status_code == 302
    assert response.url == "/login/?next=/streams/"


def test_it_reloads_the_page_on_the_login_form_when_an_htmx_request_has_no_session(client):
    response = client.get(reverse("streams:list"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/streams/"


def test_it_logs_a_member_in_with_email_and_password(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("streams:list")


def test_it_accepts_the_email_in_any_case(client, owner):
    response = client.post(
        reverse("login"), {"username": owner.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302


def test_it_says_when_email_and_password_do_not_match(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert "That e-mail address and password do not match" in response.content.decode()


def test_it_locks_out_after_five_failures_even_with_the_right_password(client, owner):
    for _ in range(5):
        client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_does_not_lock_out_the_same_email_from_another_address(client, owner):
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": owner.email, "password": "wrong"},
            REMOTE_ADDR="198.51.100.9",
        )
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 302


def test_it_logs_out_on_post(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("streams:list")).status_code == 302


def test_it_changes_the_password(owner_client, owner):
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-passphrase",
            "new_password2": "a-much-longer-passphrase",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a-much-longer-passphrase")


def test_it_shows_a_plain_page_to_a_user_without_an_account(client):
    client.force_login(UserFactory(email="loner@example.test"))
    response = client.get(reverse("streams:list"))
    assert response.status_code == 403
    assert "not a member of any TextPeak account" in response.content.decode()


def test_it_shows_the_account_and_user_in_the_header(owner_client, owner):
    page = owner_client.get(reverse("streams:list")).content.decode()
    assert "Acme Ltd" in page
    assert owner.email in page


def test_it_refuses_a_login_post_without_csrf_token(owner):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 403


def test_a_member_of_another_account_sees_their_own_account_name(client):
    member = MemberFactory(account__name="Globex")
    client.force_login(member.user)
    page = client.get(reverse("streams:list")).content.decode()
    assert "Globex" in page
    assert "Acme Ltd" not in page


def test_a_locked_out_page_keeps_the_email_and_counts_no_extra_failure(client, owner):
    for _ in range(6):
        response = client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    assert f'value="{owner.email}"' in response.content.decode()
    assert AccessAttempt.objects.get().failures_since_start == 6  # one per attempt posted
