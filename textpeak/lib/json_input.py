"""JSON from outside (the send API, Meta's webhooks), parsed so that nothing in it can make a
request fail with a 500 later, or leave us as something other than JSON.

Python's reader takes more than JSON: ``NaN``, ``Infinity`` and ``-Infinity``, and numbers
too large for a float (``1e400``), which it reads as infinity. Kept, they would be sent on as
"nan" text, written back as JSON no parser takes, or refused by PostgreSQL's jsonb after the
request was answered; so they are refused here. Whole numbers are read exactly, whatever
their size (up to Python's digit limit): they round-trip digit for digit through our storage
and the JSON we send, and Meta sends some 64-bit ids as numbers (``message_template_id``), so
refusing those outside a double's exact range (±2**53) would refuse Meta's own webhooks.
"""

import json
import math


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large a number")
    return value


def loads(data: bytes | str) -> object:
    """The parsed value, with NUL characters removed from every string (PostgreSQL cannot
    store them, in text or jsonb). Raises ``ValueError`` with a message for bad input: not
    UTF-8 or JSON, nested too deeply, numbers too long to read, or numbers JSON does not
    have (``NaN``, ``Infinity``) or a float cannot hold."""
    try:
        return _without_nul(json.loads(data, parse_constant=_no_constant, parse_float=_finite))
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits, ours
        raise ValueError(str(error)) from None


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value
