"""A callback URL's key never shows in a log line: not in Django's lines about refused requests,
not in gunicorn's access log (``textpeak.gunicorn``)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from textpeak import gunicorn
from textpeak.gunicorn import AccessLogger

KEY = "Zq3vG8sJ2kLmN4pR6tV8xZ0bC2dF4hJ6kL8mN0pQ2rS"
PATH = f"/webhooks/whatsapp/{KEY}/"


@pytest.mark.django_db
def test_djangos_line_about_a_refused_callback_shows_no_key(client, json_log):
    client.post(PATH, b"{}", content_type="application/json")
    [line] = [line for line in json_log.lines if line["name"] == "django.request"]
    assert line["message"] == "Not Found: /webhooks/whatsapp/<key>/"
    assert KEY not in str(line)


def test_gunicorns_access_line_shows_no_key_and_ends_with_the_request_id(capsys):
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", gunicorn.access_log_format)
    response = SimpleNamespace(status="404 Not Found", sent=9, headers=[("X-Request-ID", "r-1")])
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": PATH,
        "PATH_INFO": PATH,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
    }
    AccessLogger(config).access(response, SimpleNamespace(headers=[]), environ, timedelta(0))
    line = capsys.readouterr().out.strip()
    assert '"POST /webhooks/whatsapp/<key>/ HTTP/1.1" 404 9' in line
    assert line.endswith(" r-1")
    assert KEY not in line
