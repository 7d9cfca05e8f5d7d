"""What a log line is about: the request id, stream uid and message uuid of the work running.

They live in one context variable, set by the request id middleware, the API's token check,
Meta's callback and each Celery task (``textpeak.celery`` carries them in the task's headers),
and ``ContextFilter`` adds them to every record the handlers write. A line about one message
among many (a batch) names it itself: ``extra=logcontext.about(message_uuid=…)``.
"""

import logging
from contextvars import ContextVar, Token
from types import MappingProxyType

FIELDS = ("request_id", "stream_uid", "message_uuid")

_NONE = MappingProxyType({})
_ids: ContextVar[MappingProxyType] = ContextVar("log_ids", default=_NONE)


def current() -> dict[str, str]:
    """The ids known here, to carry them to other work (a task, a thread)."""
    return dict(_ids.get())


def start(ids: dict[str, str]) -> Token:
    """The ids of a new piece of work (a request, a task) and no others, until ``end``."""
    return _ids.set(MappingProxyType(dict(ids)))


def end(token: Token) -> None:
    """Back to the ids known before the ``start`` that gave ``token``."""
    _ids.reset(token)


def clear() -> None:
    """No ids known: the work is done."""
    _ids.set(_NONE)


def bind(**ids) -> None:
    """Add these ids (the ones given a value) to those of the work running."""
    _ids.set(MappingProxyType({**_ids.get(), **about(**ids)}))


def about(**ids) -> dict[str, str]:
    """The ids given a value, as text: a record's ``extra`` for a line about one of many."""
    return {field: str(value) for field, value in ids.items() if value}


class ContextFilter(logging.Filter):
    """Adds the ids known to each record, unless the line names its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field, value in _ids.get().items():
            if field not in record.__dict__:
                setattr(record, field, value)
        return True


class TextFormatter(logging.Formatter):
    """The readable layout, each line followed by the ids it carries."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        ids = [f"{field}={record.__dict__[field]}" for field in FIELDS if field in record.__dict__]
        return f"{line} [{' '.join(ids)}]" if ids else line
