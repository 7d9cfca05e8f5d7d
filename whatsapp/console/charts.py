"""The Info tab's charts of a WhatsApp stream: its messages per day for the last 30 days, by
status and (those sent) by Meta's pricing category."""

from streams.charts import TONES, DailyChart, Series
from whatsapp.models import Message
from whatsapp.selectors import message_daily_counts

DAYS = 30

# Meta's categories in the order the chart stacks them; one Meta adds later comes after.
CATEGORIES = (
    "marketing",
    "marketing_lite",
    "utility",
    "authentication",
    "authentication_international",
    "service",
    "referral_conversion",
)
# Messages not sent, or not priced by Meta (yet).
UNPRICED = "Not priced"


def _category_label(category: str) -> str:
    return category.replace("_", " ").capitalize() if category else UNPRICED


def _category_tone(category: str) -> int:
    """The same colour for a category in every period: a category Meta adds later shares the
    last known one's, and the unpriced have the last."""
    if not category:
        return TONES - 1
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES) - 1


def message_charts(stream) -> list[DailyChart]:
    """The stream's messages per day for the last ``DAYS`` days, kept and purged alike: by
    status, and those sent by pricing category."""
    counts = message_daily_counts(stream=stream, days=DAYS)
    days = counts.days
    # A tone a status: the chart's colours are as many as the statuses.
    by_status = [
        Series(label, [counts.statuses[day, status] for day in days], tone)
        for tone, (status, label) in enumerate(Message.Status.choices)
    ]
    seen = {category for _, category in counts.categories}
    categories = [c for c in CATEGORIES if c in seen]
    categories += [*sorted(seen - set(CATEGORIES) - {""}), ""]
    by_category = [
        Series(
            _category_label(category),
            [counts.categories[day, category] for day in days],
            _category_tone(category),
        )
        for category in categories
    ]
    return [
        DailyChart(
            slug="status",
            title=f"Messages per day by status, last {DAYS} days",
            days=days,
            series=by_status,
        ),
        DailyChart(
            slug="category",
            title=f"Messages sent per day by pricing category, last {DAYS} days",
            days=days,
            series=by_category,
        ),
    ]
