"""JSON from outside (the send API, Meta's webhooks), parsed so that nothing in it can make a
request fail with a 500 later."""

import json


def loads(data: bytes) -> object:
    """The parsed value, with NUL characters removed from every string (PostgreSQL cannot
    store them, in text or jsonb). Raises ``ValueError`` with a message for bad input: not
    UTF-8 or JSON, nested too deeply, or numbers too long to read."""
    try:
        return _without_nul(json.loads(data))
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise ValueError(str(error)) from None


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value
