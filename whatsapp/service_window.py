"""WhatsApp's customer service window: a business may send a contact anything but a template
only within 24 hours of the contact's last message. Each stream keeps, per contact, when that
was (``ServiceWindow``), from the messages it receives.

A demo stream's windows are always open: its simulated recipients never write first.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from streams.models import Stream
from textpeak.lib.rows import upsert_latest
from whatsapp.models import ServiceWindow

WINDOW = timedelta(hours=24)

OUTSIDE_SERVICE_WINDOW = "OUTSIDE_SERVICE_WINDOW"
OUTSIDE_SERVICE_WINDOW_MESSAGE = (
    "the contact has not written in the last 24 hours: send an approved template"
)


@dataclass(frozen=True)
class Window:
    open: bool
    last_inbound_at: datetime | None
    # None while closed, and on a demo stream, where it never closes.
    closes_at: datetime | None

    def as_json(self) -> dict:
        return {
            "open": self.open,
            "last_inbound_at": _iso(self.last_inbound_at),
            "closes_at": _iso(self.closes_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def contact_windows(*, stream: Stream, numbers: Iterable[str]) -> dict[str, Window]:
    """The window of each of these contacts (numbers as messages store them) on the stream:
    one query, whatever their number."""
    numbers = set(numbers)
    last = (
        dict(
            ServiceWindow.objects.filter(stream=stream, contact_number__in=numbers).values_list(
                "contact_number", "last_inbound_at"
            )
        )
        if numbers
        else {}
    )
    now = timezone.now()
    windows = {}
    for number in numbers:
        wrote = last.get(number)
        if stream.is_demo:
            windows[number] = Window(open=True, last_inbound_at=wrote, closes_at=None)
            continue
        closes = wrote + WINDOW if wrote is not None else None
        is_open = closes is not None and now < closes
        windows[number] = Window(
            open=is_open, last_inbound_at=wrote, closes_at=closes if is_open else None
        )
    return windows


def contacts_wrote(*, stream: Stream, written: Iterable[tuple[str, datetime]]) -> None:
    """Contacts wrote to the stream at these times: each one's window runs from the latest of
    them, or from an even later message already recorded. One statement for them all."""
    now = timezone.now()
    latest: dict[str, datetime] = {}
    for number, at in written:
        # A clock ahead of ours must not hold a window open past 24 hours from now.
        at = min(at, now)
        if number and (number not in latest or latest[number] < at):
            latest[number] = at
    # In the order of their key, so that concurrent batches lock shared rows in one order.
    rows = [(stream.pk, number, latest[number]) for number in sorted(latest)]
    upsert_latest(ServiceWindow, ["stream", "contact_number"], "last_inbound_at", rows)
