"""Guessing passwords around the lockout: other spellings of an e-mail, many e-mails from one
address, one e-mail from many addresses; and support lifting each lockout."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_PAGES = pytest.mark.parametrize(
    "login_url", [reverse("login"), reverse("admin:login")], ids=["console", "admin"]
)
ATTACKER = "203.0.113.66"
PROXY = "10.0.0.2"
WRONG = "not-the-password"


def log_in(client, login_url, email, password=WRONG, address=ATTACKER, **headers):
    return client.post(
        login_url, {"username": email, "password": password}, REMOTE_ADDR=address, **headers
    )


def assert_locked_out(response, kind):
    page = response.content.decode()
    assert response.status_code == 429
    assert kind in page
    assert "Try again in 15 minutes" in page
    assert "TextPeak support can lift it sooner" in page


@LOGIN_PAGES
def test_it_locks_out_the_same_email_in_another_case(client, support, login_url):
    for spelling in ["SUPPORT@textpeak.test", "Support@TextPeak.test", "support@TEXTPEAK.TEST"]:
        log_in(client, login_url, spelling)
        log_in(client, login_url, spelling.swapcase())
    response = log_in(client, login_url, support.email, PASSWORD)
    assert_locked_out(response, "Too many failed attempts for this e-mail address")
    assert "_auth_user_id" not in client.session


@LOGIN_PAGES
def test_it_locks_out_the_email_with_surrounding_spaces(client, support, login_url):
    for spelling in [
        " support@textpeak.test",
        "support@textpeak.test ",
        "\tsupport@textpeak.test",
        "support@textpeak.test\n",
        "  support@textpeak.test  ",
    ]:
        log_in(client, login_url, spelling)
    response = log_in(client, login_url, support.email, PASSWORD)
    assert_locked_out(response, "Too many failed attempts for this e-mail address")


@LOGIN_PAGES
def test_it_locks_an_address_that_tries_many_emails(client, support, login_url):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        log_in(client, login_url, f"guess{n}@textpeak.test")
    response = log_in(client, login_url, support.email, PASSWORD)
    assert_locked_out(response, "Too many failed attempts for different e-mail addresses")
    assert "_auth_user_id" not in client.session
    # Only that address: the same person elsewhere logs in.
    assert log_in(Client(), login_url, support.email, PASSWORD, "192.0.2.10").status_code == 302


def test_it_keeps_an_address_open_below_the_limit(client, support):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        log_in(client, reverse("login"), f"guess{n}@textpeak.test")
    assert log_in(client, reverse("login"), support.email, PASSWORD).status_code == 302


def test_it_keeps_counting_an_address_after_a_login_from_it(client, support, teammate):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        log_in(Client(), reverse("login"), f"guess{n}@textpeak.test")
    # The sprayer logs into an account of their own, hoping to wipe the address's failures.
    assert log_in(Client(), reverse("login"), teammate.email, PASSWORD).status_code == 302
    log_in(Client(), reverse("login"), "one-more@textpeak.test")
    response = log_in(client, reverse("login"), support.email, PASSWORD)
    assert_locked_out(response, "Too many failed attempts for different e-mail addresses")


def from_address(n, *, proxied):
    address = f"198.51.100.{n + 1}"
    if proxied:
        return {"address": PROXY, "HTTP_X_FORWARDED_FOR": f"{address}, {PROXY}"}
    return {"address": address}


@LOGIN_PAGES
@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "behind-proxy"])
def test_it_locks_an_email_tried_from_many_addresses(client, support, login_url, proxied, settings):
    settings.TRUSTED_PROXIES = [PROXY] if proxied else []
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        log_in(Client(), login_url, support.email.upper(), **from_address(n, proxied=proxied))
    response = log_in(client, login_url, support.email, PASSWORD, "192.0.2.10")
    assert_locked_out(response, "Too many failed attempts for this e-mail address from")
    assert "different networks" in response.content.decode()


def test_it_keeps_an_email_open_below_the_address_limit(client, support):
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT - 1):
        log_in(Client(), reverse("login"), support.email, **from_address(n, proxied=False))
    assert (
        log_in(client, reverse("login"), support.email, PASSWORD, "192.0.2.10").status_code == 302
    )


def test_it_does_not_lock_an_email_for_addresses_a_client_only_claims(client, support, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        forged = f"198.51.100.{n + 1}"
        log_in(Client(), reverse("login"), support.email, HTTP_X_FORWARDED_FOR=forged)
    assert (
        log_in(client, reverse("login"), support.email, PASSWORD, "192.0.2.10").status_code == 302
    )


def test_the_real_user_still_logs_in_from_a_network_they_used_before(client, support):
    home = "192.0.2.10"
    assert log_in(client, reverse("login"), support.email, PASSWORD, home).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR=home)
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        log_in(Client(), reverse("login"), support.email, **from_address(n, proxied=False))
    assert log_in(client, reverse("login"), support.email, PASSWORD, home).status_code == 302
    elsewhere = log_in(Client(), reverse("login"), support.email, PASSWORD, "192.0.2.99")
    assert elsewhere.status_code == 429


def lock_out_by_email_and_address(email):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), reverse("login"), email)


def lock_out_by_address(email):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        log_in(Client(), reverse("login"), f"guess{n}@acme.test")


def lock_out_by_email(email):
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        log_in(Client(), reverse("login"), email, **from_address(n, proxied=False))


@pytest.mark.parametrize(
    ("lock_out", "label"),
    [
        (lock_out_by_email_and_address, "This e-mail from this address"),
        (lock_out_by_address, "Many e-mails from this address"),
        (lock_out_by_email, "This e-mail from many addresses"),
    ],
    ids=["email-and-address", "address", "email"],
)
def test_support_clears_each_lockout(support_client, owner, lock_out, label):
    lock_out(owner.email)
    locked = log_in(Client(), reverse("login"), owner.email, PASSWORD)
    assert locked.status_code == 429

    # The person tells support their e-mail; support finds it and clears its lockout.
    changelist = reverse("admin:axes_accessattempt_changelist") + f"?q={owner.email}"
    assert label in support_client.get(changelist).content.decode()
    response = support_client.post(
        changelist,
        {"action": "clear_lockout", "select_across": "1", "_selected_action": ["0"]},
        follow=True,
    )
    assert "Lockout cleared" in response.content.decode()

    assert log_in(Client(), reverse("login"), owner.email, PASSWORD).status_code == 302


def test_clearing_a_lockout_counts_in_words(support_client, owner):
    lock_out_by_email(owner.email)
    changelist = reverse("admin:axes_accessattempt_changelist") + f"?q={owner.email}"
    response = support_client.post(
        changelist,
        {"action": "clear_lockout", "select_across": "1", "_selected_action": ["0"]},
        follow=True,
    )
    message = response.content.decode().split("Lockout cleared: ")[1].split("</li>")[0]
    assert "(s)" not in message
    assert " failed attempts forgotten for 1 e-mail address and " in message
