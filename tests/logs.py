"""The app's log lines as its handler writes them, for tests that read them."""

import json
import logging

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from textpeak.logcontext import ContextFilter


def configured_formatter(name: str) -> logging.Formatter:
    """The formatter ``settings.LOGGING`` names ``name`` ("text" or "json")."""
    config = dict(settings.LOGGING["formatters"][name])
    factory = import_string(config.pop("()"))
    return factory(config.pop("format"), **config)


class JsonLines(logging.Handler):
    """Each record as the JSON format writes it, read back: one dict a line."""

    def __init__(self):
        super().__init__()
        self.addFilter(ContextFilter())
        self.setFormatter(configured_formatter("json"))
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))

    def about(self, message_uuid: str) -> list[dict]:
        return [line for line in self.lines if line.get("message_uuid") == message_uuid]


@pytest.fixture
def json_log():
    """The lines logged during the test at INFO and above, in the JSON format."""
    handler = JsonLines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
