"""The export of a period's messages with Meta's pricing, for the account's billing."""

from datetime import timedelta

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_safe

from streams.forms import ExportPeriodForm
from streams.views import gated_stream
from textpeak.accounts.access import member_required
from textpeak.lib.spreadsheet import csv_lines
from whatsapp.selectors import EXPORT_COLUMNS, message_export


@member_required
@require_safe
def messages_export(request, uid):
    """A CSV of the stream's messages created in the period asked (last month when none is),
    streamed as it is read: any member of the stream's account may download it."""
    stream = gated_stream(request, uid)
    form = ExportPeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        problems = [error for errors in form.errors.values() for error in errors]
        return HttpResponseBadRequest(" ".join(problems), content_type="text/plain; charset=utf-8")
    since, until = form.period()
    rows = message_export(stream=stream, since=since, until=until)
    response = StreamingHttpResponse(
        csv_lines(EXPORT_COLUMNS, rows), content_type="text/csv; charset=utf-8"
    )
    last_day = (until - timedelta(days=1)).date()
    response["Content-Disposition"] = (
        f'attachment; filename="messages-{stream.uid}-{since.date()}-to-{last_day}.csv"'
    )
    return response
