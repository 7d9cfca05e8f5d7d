"""The Info tab's usage: messages per day for the last 30 days as charts (server-rendered
SVG, by status and by pricing category), and the CSV export of a period's messages with
Meta's pricing, for the account's members only."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import SentMessageFactory, StreamFactory
from textpeak.lib.spreadsheet import LINES_PER_CHUNK
from whatsapp.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(account, whatsapp_access):
    return StreamFactory(account=account, name="Orders", setup_progress=4)


def _message(stream, *, days_ago: float = 0, at: datetime | None = None, **fields) -> Message:
    created_at = at or timezone.now() - timedelta(days=days_ago)
    return SentMessageFactory(stream=stream, wamid=None, created_at=created_at, **fields)


def _info(client, stream) -> str:
    response = client.get(reverse("streams:detail", args=[stream.uid]))
    assert response.status_code == 200
    return response.content.decode()


def _chart(page: str, slug: str) -> str:
    match = re.search(rf'<figure class="chart" id="chart-{slug}">(.*?)</figure>', page, re.S)
    assert match, f"no {slug} chart on the Info tab"
    return match.group(1)


def _bar_titles(chart: str) -> list[str]:
    return re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", chart)


# -- the charts


def test_it_draws_a_bar_a_status_for_each_day_with_messages(owner_client, stream):
    for _ in range(3):
        _message(stream, status=Message.Status.READ)
    _message(stream, days_ago=2, status=Message.Status.SENT_FAILED)
    chart = _chart(_info(owner_client, stream), "status")
    assert "<svg" in chart
    assert '<title id="chart-status-title">Messages per day by status, last 30 days</title>' in (
        chart
    )
    today = timezone.localdate()
    assert sorted(_bar_titles(chart)) == sorted(
        [
            f"{today.day} {today:%b}: 3 Read",
            f"{(today - timedelta(days=2)).day} {(today - timedelta(days=2)):%b}: 1 Failed",
        ]
    )


def test_its_legend_names_each_status_with_its_total(owner_client, stream):
    _message(stream, status=Message.Status.READ)
    _message(stream, days_ago=1, status=Message.Status.READ)
    _message(stream, status=Message.Status.DELIVERED)
    chart = _chart(_info(owner_client, stream), "status")
    legend = re.search(r'<ul class="chart-legend">(.*?)</ul>', chart, re.S).group(1)
    assert re.findall(r"</span>([^<]+)</li>", legend) == ["Delivered: 1", "Read: 2"]


def test_it_gives_the_figures_as_a_table_of_every_day(owner_client, stream):
    _message(stream, status=Message.Status.READ)
    chart = _chart(_info(owner_client, stream), "status")
    day = r'<th scope="row"><time datetime="[\d-]+">[^<]+</time></th>'
    rows = re.findall(rf"<tr>{day}((?:<td>\d+</td>)+)</tr>", chart)
    assert len(rows) == 30
    assert rows[-1] == "<td>1</td><td>1</td>"  # today: 1 read, 1 in all


def test_it_charts_sent_messages_by_pricing_category(owner_client, stream):
    _message(stream, status=Message.Status.READ, pricing_category="marketing")
    _message(stream, status=Message.Status.READ, pricing_category="utility")
    _message(stream, status=Message.Status.DELIVERED, pricing_category="utility")
    _message(stream, status=Message.Status.QUEUED)
    _message(stream, direction=Message.Direction.INBOUND, status=Message.Status.RECEIVED)
    chart = _chart(_info(owner_client, stream), "category")
    today = timezone.localdate()
    day = f"{today.day} {today:%b}"
    assert sorted(_bar_titles(chart)) == [
        f"{day}: 1 Marketing",
        f"{day}: 1 Not priced",
        f"{day}: 2 Utility",
    ]


def test_it_leaves_out_messages_older_than_30_days(owner_client, stream):
    _message(stream, days_ago=31, status=Message.Status.READ)
    page = _info(owner_client, stream)
    assert _bar_titles(_chart(page, "status")) == []
    assert "No messages in this period yet." in _chart(page, "status")


def test_it_shows_an_empty_state_without_messages(owner_client, stream):
    page = _info(owner_client, stream)
    for slug in ("status", "category"):
        chart = _chart(page, slug)
        assert "No messages in this period yet." in chart
        assert "<svg" not in chart


# -- the export

EXPORT = "whatsapp_messages_export"


def _export(client, stream, **period):
    return client.get(reverse(EXPORT, args=[stream.uid]), period)


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_it_exports_a_periods_messages_with_their_pricing(owner_client, stream):
    priced = _message(
        stream,
        at=datetime(2026, 3, 10, 12, tzinfo=UTC),
        internal_id="ord-1001",
        status=Message.Status.READ,
        pricing_billable=True,
        pricing_category="utility",
        pricing_model="PMP",
        pricing_type="regular",
        conversation_id="conv-1",
        conversation_origin="utility",
    )
    received = _message(
        stream,
        at=datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
        direction=Message.Direction.INBOUND,
        status=Message.Status.RECEIVED,
    )
    _message(stream, at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    _message(stream, at=datetime(2026, 4, 1, tzinfo=UTC))
    response = _export(owner_client, stream, date_from="2026-03-01", date_to="2026-03-31")
    assert 'filename="messages-' in response["Content-Disposition"]
    rows = _rows(response)
    assert list(rows[0]) == [
        "message_uuid",
        "created_at",
        "direction",
        "sender",
        "recipient",
        "type",
        "status",
        "internal_id",
        "billable",
        "category",
        "model",
        "pricing_type",
        "conversation_id",
        "conversation_origin",
    ]
    assert rows[0] == {
        "message_uuid": str(priced.uuid),
        "created_at": "2026-03-10T12:00:00+00:00",
        "direction": "outbound",
        "sender": "15550001111",
        "recipient": "4915112345678",
        "type": "text",
        "status": "read",
        "internal_id": "ord-1001",
        "billable": "true",
        "category": "utility",
        "model": "PMP",
        "pricing_type": "regular",
        "conversation_id": "conv-1",
        "conversation_origin": "utility",
    }
    assert [row["message_uuid"] for row in rows] == [str(priced.uuid), str(received.uuid)]
    assert (rows[1]["sender"], rows[1]["recipient"], rows[1]["billable"]) == (
        "4915112345678",
        "15550001111",
        "",
    )


def test_it_streams_the_export(owner_client, stream):
    response = _export(owner_client, stream)
    assert response.streaming
    assert response["Content-Disposition"].startswith("attachment;")


def test_it_writes_a_long_export_in_chunks(owner_client, stream):
    at = datetime(2026, 3, 10, tzinfo=UTC)
    Message.objects.bulk_create(
        SentMessageFactory.build(stream=stream, wamid=None, created_at=at)
        for _ in range(LINES_PER_CHUNK + 1)
    )
    response = _export(owner_client, stream, date_from="2026-03-01", date_to="2026-03-31")
    chunks = list(response.streaming_content)
    assert len(chunks) == 2
    assert len(list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))) == LINES_PER_CHUNK + 1


def test_it_exports_last_month_unless_asked(owner_client, stream):
    first_of_this_month = timezone.localdate().replace(day=1)
    last_month = first_of_this_month - timedelta(days=1)
    inside = _message(stream, at=datetime.combine(last_month, datetime.min.time(), tzinfo=UTC))
    _message(stream, at=datetime.combine(first_of_this_month, datetime.min.time(), tzinfo=UTC))
    rows = _rows(_export(owner_client, stream))
    assert [row["message_uuid"] for row in rows] == [str(inside.uuid)]


def test_it_writes_cells_a_spreadsheet_would_run_as_formulas_as_text(owner_client, stream):
    for internal_id in ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "ord-1"):
        _message(stream, at=datetime(2026, 3, 10, tzinfo=UTC), internal_id=internal_id)
    rows = _rows(_export(owner_client, stream, date_from="2026-03-01", date_to="2026-03-31"))
    assert sorted(row["internal_id"] for row in rows) == sorted(
        ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "ord-1"]
    )


def test_a_member_who_is_not_an_admin_may_export(teammate_client, stream):
    _message(stream, at=datetime(2026, 3, 10, tzinfo=UTC))
    rows = _rows(_export(teammate_client, stream, date_from="2026-03-01", date_to="2026-03-31"))
    assert len(rows) == 1


def test_it_answers_404_to_another_accounts_member(client, outsider, stream):
    _message(stream, at=datetime(2026, 3, 10, tzinfo=UTC), internal_id="ord-secret")
    client.force_login(outsider)
    response = _export(client, stream, date_from="2026-03-01", date_to="2026-03-31")
    assert response.status_code == 404
    assert b"ord-secret" not in response.content


def test_it_exports_only_the_streams_own_messages(owner_client, account, stream):
    other = StreamFactory(account=account, name="Other")
    _message(other, at=datetime(2026, 3, 10, tzinfo=UTC))
    rows = _rows(_export(owner_client, stream, date_from="2026-03-01", date_to="2026-03-31"))
    assert rows == []


@pytest.mark.parametrize(
    ("period", "says"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "must end on or after"),
        ({"date_from": "yesterday", "date_to": "2026-03-01"}, "valid date"),
        ({"date_to": "2026-03-01"}, "required"),
    ],
    ids=["backwards", "not a date", "no start"],
)
def test_it_refuses_a_period_that_is_not_one(owner_client, stream, period, says):
    response = _export(owner_client, stream, **period)
    assert response.status_code == 400
    assert says in response.content.decode()


def test_the_info_tab_offers_the_export_of_last_month(owner_client, stream):
    page = _info(owner_client, stream)
    today = timezone.localdate()
    end = today.replace(day=1) - timedelta(days=1)
    assert f'action="{reverse(EXPORT, args=[stream.uid])}"' in page
    assert f'name="date_from" value="{date(end.year, end.month, 1)}"' in page
    assert f'name="date_to" value="{end}"' in page
    assert "Download CSV" in page
