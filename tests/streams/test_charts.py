"""``streams.charts.DailyChart``: the layout of the Info tab's stacked bars."""

from datetime import date, timedelta

from streams.charts import TOP, DailyChart, Series

DAYS = [date(2026, 3, 1) + timedelta(days=n) for n in range(3)]


def _chart(*series: Series) -> DailyChart:
    return DailyChart(slug="status", title="Messages", days=DAYS, series=list(series))


def test_the_busiest_day_fills_the_chart_and_the_others_scale_to_it():
    chart = _chart(Series("Read", [4, 1, 0], 3), Series("Failed", [0, 1, 0], 4))
    busiest, half, empty = chart.columns
    assert sum(s.height for s in busiest.segments) == chart.baseline - TOP
    assert sum(s.height for s in half.segments) == (chart.baseline - TOP) / 2
    assert [(s.label, s.count) for s in half.segments] == [("Read", 1), ("Failed", 1)]
    assert empty.segments == []


def test_a_days_segments_stack_from_the_baseline():
    chart = _chart(Series("Read", [1, 0, 0], 3), Series("Failed", [1, 0, 0], 4))
    read, failed = chart.columns[0].segments
    assert read.y + read.height == chart.baseline
    assert failed.y + failed.height == read.y


def test_it_leaves_out_series_without_a_message_and_is_empty_without_any():
    chart = _chart(Series("Read", [0, 0, 0], 3), Series("Failed", [0, 1, 0], 4))
    assert [s.label for s in chart.series] == ["Failed"]
    assert _chart(Series("Read", [0, 0, 0], 3)).empty


def test_it_gives_the_figures_a_row_a_day_with_the_total():
    chart = _chart(Series("Read", [1, 0, 3], 3), Series("Failed", [2, 0, 0], 4))
    assert chart.rows == [(DAYS[0], [1, 2], 3), (DAYS[1], [0, 0], 0), (DAYS[2], [3, 0], 3)]


def test_it_writes_every_seventh_day_counted_back_from_the_last():
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(30)]
    chart = DailyChart(slug="s", title="t", days=days, series=[Series("Read", [1] * 30, 3)])
    labelled = [column.day.day for column in chart.columns if column.labelled]
    assert labelled == [2, 9, 16, 23, 30]
