"""Personas and service fixtures shared by the whole suite.

REQUIRE_SERVICES=1 (set by .ci/run) turns a missing PostgreSQL or Redis into a failure instead of
a skip; REQUIRE_BROWSER=1 does the same for Debian's chromium.
"""

import threading
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from streams.services import stream_token_regenerate
from tests.factories import AccountFactory, MemberFactory, UserFactory

# Every test's log lines are searched for the secrets it made (tests/secret_logs.py).
from tests.logs import json_log  # noqa: F401
from tests.secret_logs import logged_lines, no_secret_logged  # noqa: F401
from tests.webhooks.receiver import Receiver
from tests.workers import running_worker
from textpeak.accounts import beta
from textpeak.accounts.models import Member
from textpeak.accounts.roles import sync_support_group
from textpeak.celery import app as celery_app
from textpeak.env import env_bool
from textpeak.lib import misses, ratelimit
from textpeak.lib.local_cache import LocalCache
from whatsapp import tasks as whatsapp_tasks
from whatsapp.testing.fake_graph import FakeGraph

REQUIRE_SERVICES = env_bool("REQUIRE_SERVICES", default=False)
REQUIRE_BROWSER = env_bool("REQUIRE_BROWSER", default=False)


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if REQUIRE_SERVICES and "postgresql" not in engine:
        raise pytest.UsageError(
            "REQUIRE_SERVICES=1 runs the suite on PostgreSQL: set DATABASE_URL to postgres://…"
        )


@pytest.fixture(autouse=True)
def isolated_state(settings, tmp_path):
    """Each test starts with empty caches (beta access, send-API catalogues) and its own
    rate-limit buckets: database ids and client addresses repeat between tests, so shared keys
    would leak."""
    cache.clear()
    LocalCache.clear_all()
    ratelimit.drop_leases()
    misses.forget()
    _forget_redis_buckets()
    settings.VAR_DIR = tmp_path
    yield
    cache.clear()
    LocalCache.clear_all()
    ratelimit.drop_leases()
    misses.forget()


def _forget_redis_buckets():
    """Without Redis the buckets are files in the test's own VAR_DIR; Redis keeps them."""
    if not settings.REDIS_URL:
        return
    connection = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
    try:
        for pattern in ("textpeak:rate:*", "textpeak:hold:*"):
            for key in connection.scan_iter(match=pattern, count=1000):
                connection.delete(key)
    except redis.RedisError:
        pass  # the tests that need Redis say so themselves
    finally:
        connection.close()


def unavailable(reason: str, *, required: bool):
    """Skip a test that needs something this machine lacks, or fail when it is required."""
    if required:
        pytest.fail(f"{reason} (required here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def account(db):
    return AccountFactory(name="Acme Ltd")


@pytest.fixture
def owner(account):
    """An admin of Acme Ltd."""
    return MemberFactory(
        account=account, role=Member.Role.ADMIN, user__email="owner@acme.test"
    ).user


@pytest.fixture
def teammate(account):
    """A member (not an admin) of Acme Ltd: sees Acme's streams, changes nothing."""
    return MemberFactory(account=account, user__email="teammate@acme.test").user


@pytest.fixture
def outsider(db):
    """An admin of a different account, who must never see Acme's data."""
    return MemberFactory(
        account__name="Other Co", role=Member.Role.ADMIN, user__email="outsider@other.test"
    ).user


@pytest.fixture
def support(db):
    """Support staff: Django admin with the Support group's permissions only."""
    user = UserFactory(email="support@textpeak.test", is_staff=True)
    user.groups.set([sync_support_group()])
    return user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def teammate_client(client, teammate):
    client.force_login(teammate)
    return client


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client


@pytest.fixture
def whatsapp_access(account, owner):
    """Acme Ltd approved for WhatsApp streams, through the real review service."""
    access_request, _ = beta.beta_access_request(
        account=account, feature=beta.Feature.WHATSAPP_STREAMS, user=owner
    )
    reviewer = UserFactory(is_staff=True)
    beta.beta_access_review(request_ids=[access_request.id], reviewer=reviewer, approve=True)
    access_request.refresh_from_db()
    return access_request


@pytest.fixture
def token(stream):
    """A new API token of the test module's ``stream``."""
    return stream_token_regenerate(stream=stream)


@pytest.fixture
def fake_graph(settings):
    """A running fake Graph API that ``whatsapp.graph.client`` is pointed at.

    One business is seeded with the defaults of ``FakeGraph.add_business``: ``fake_graph.business``
    gives its ``waba_id``, ``token``, phone numbers and templates. Add more with ``add_business``.
    """
    with FakeGraph() as fake:
        fake.add_business()
        settings.WHATSAPP_GRAPH_URL = fake.url
        yield fake


@pytest.fixture
def redis_broker():
    if not settings.REDIS_URL:
        unavailable("REDIS_URL is not set", required=REQUIRE_SERVICES)
    connection = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError as error:
        unavailable(f"Redis at {settings.REDIS_URL} is unreachable: {error}", required=True)
    connection.delete(*(queue.name for queue in settings.CELERY_TASK_QUEUES))
    return connection


@pytest.fixture
def worker(redis_broker):
    with running_worker():
        yield


def _point_broker_at(url):
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_outage(redis_broker):
    """``start()`` points publishing at a port where nothing listens, as if Redis had stopped."""

    class Outage:
        start = staticmethod(lambda: _point_broker_at("redis://127.0.0.1:1/0"))
        end = staticmethod(lambda: _point_broker_at(settings.CELERY_BROKER_URL))

    yield Outage
    Outage.end()


@pytest.fixture
def receiver(settings):
    """A running customer webhook server on 127.0.0.1 (see tests/webhooks/receiver.py), which
    deliveries may reach: private networks are allowed, as in the suite's settings."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    with Receiver() as running:
        yield running


@pytest.fixture
def published_task():
    """The task whose ``apply_async`` ``publish`` replaces; a module or conftest overrides it."""
    return whatsapp_tasks.send_messages


@pytest.fixture
def publish(monkeypatch, published_task):
    """``published_task.apply_async`` replaced by a mock: what gets enqueued.
    ``publish.ids()`` lists each published task's row ids; ``publish.called_event`` is set on
    each call, for a test waiting on another thread."""
    called = threading.Event()
    published = mock.Mock(side_effect=lambda *args, **kwargs: called.set())
    monkeypatch.setattr(published_task, "apply_async", published)
    published.called_event = called
    # The row ids of each task published, in order.
    published.ids = lambda: [call.kwargs["args"][0] for call in published.call_args_list]
    return published
