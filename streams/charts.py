"""The Info tab's charts: counts per day, stacked by series, laid out here for the SVG that
``streams/includes/daily_chart.html`` draws on the server (no JavaScript, no chart library).

A stream type gives its charts (``StreamType.message_charts``) as ``DailyChart``s; the layout
is plain arithmetic, kept out of the template.
"""

from dataclasses import dataclass
from datetime import date

# The SVG's own units; it scales to the width of its box.
WIDTH = 640
HEIGHT = 200
TOP = 10
BOTTOM = 24  # room for the day labels
LEFT = 36  # room for the axis figures
RIGHT = 18  # room for half of the last day's label
GAP = 2
# Each series keeps its colour however many others a period has: ``tone`` picks one of these.
TONES = 8


@dataclass(frozen=True)
class Series:
    label: str
    counts: list[int]  # one a day, in the chart's day order
    tone: int  # 0 to TONES - 1

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Segment:
    label: str
    count: int
    tone: int
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    day: date
    total: int
    x: float
    width: float
    segments: list[Segment]
    labelled: bool  # its day is written under the axis

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


class DailyChart:
    """A stacked bar a day: ``series`` are counted per day of ``days``, oldest first. Series
    without any count in the period are left out of the bars, legend and table."""

    width = WIDTH
    height = HEIGHT
    left = LEFT
    right = WIDTH - RIGHT
    baseline = HEIGHT - BOTTOM

    def __init__(self, *, slug: str, title: str, days: list[date], series: list[Series]):
        self.slug = slug
        self.title = title
        self.days = days
        self.series = [s for s in series if s.total]

    @property
    def empty(self) -> bool:
        return not self.series

    @property
    def peak(self) -> int:
        """The top of the scale: the busiest day, at least 1."""
        return max([sum(day) for day in zip(*(s.counts for s in self.series), strict=True)] or [1])

    def _scale(self, count: int) -> float:
        return (self.baseline - TOP) * count / self.peak

    @property
    def columns(self) -> list[Column]:
        step = (WIDTH - LEFT - RIGHT) / max(len(self.days), 1)
        columns = []
        for index, day in enumerate(self.days):
            segments, y = [], float(self.baseline)
            for series in self.series:
                count = series.counts[index]
                if not count:
                    continue
                height = self._scale(count)
                y -= height
                segments.append(Segment(series.label, count, series.tone, round(y, 2), height))
            columns.append(
                Column(
                    day=day,
                    total=sum(s.count for s in segments),
                    x=round(LEFT + index * step + GAP / 2, 2),
                    width=round(step - GAP, 2),
                    segments=segments,
                    # Every seventh day, counted back from the last, so that today is written.
                    labelled=(len(self.days) - 1 - index) % 7 == 0,
                )
            )
        return columns

    @property
    def ticks(self) -> list[Tick]:
        """Gridlines at zero, half the peak and the peak (whole numbers only)."""
        values = sorted({0, self.peak // 2, self.peak})
        return [Tick(value, round(self.baseline - self._scale(value), 2)) for value in values]

    @property
    def rows(self) -> list[tuple[date, list[int], int]]:
        """The same figures as a table: each day, its count per series and its total."""
        counts = [s.counts for s in self.series]
        return [
            (day, [c[index] for c in counts], sum(c[index] for c in counts))
            for index, day in enumerate(self.days)
        ]
