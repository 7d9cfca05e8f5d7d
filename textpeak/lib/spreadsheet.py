"""CSV for people who open it in a spreadsheet: written line by line as rows are read, with
cells that a spreadsheet would take for a formula made plain text."""

import csv
from collections.abc import Iterable, Iterator

# What a spreadsheet reads as the start of a formula (OWASP's list): such a cell gets a
# leading apostrophe, which spreadsheets show as text and do not evaluate.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Rows per chunk of the response: fewer, larger writes than a line each.
LINES_PER_CHUNK = 500


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file that gives back what is written to it, so csv.writer makes lines to yield."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows``, in chunks, consuming ``rows`` as it goes."""
    writer = csv.writer(_Echo())
    chunk = [writer.writerow(list(header))]
    for row in rows:
        chunk.append(writer.writerow([cell(value) for value in row]))
        if len(chunk) >= LINES_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
