"""Untrusted JSON objects read field by field, each problem said in its caller's own words.

Four readers take JSON they cannot trust: Meta's webhooks, the send API's messages, Meta's
answers to the Cloud API client, and the requests the fake Graph API receives. Each has its
own wording (clients and tests rely on it word for word), its own exception and its own
leniency (Meta sends some ids as numbers). A ``Shape`` is one decoded object and the place it
was found at; the caller's ``Rules`` say which exception to raise and how to word each problem,
so one reader serves the four.

Why not a validation library: pydantic (the fastest well-kept one) validates a whole model and
reports every error, in its own words, at a path of keys; these callers stop at the first
problem in the order they read, name places their own way ("change", not ``entry.0.changes.0``)
and differ on whether a blank text is given. Translating its errors back would take a table as
large as the readers it replaces, and two compiled dependencies more. Reading here is plain
``dict`` lookups and ``isinstance`` checks, and a message is only formatted on the way out.
Making a ``Shape`` costs about as much as reading three fields, so the hot paths (a send
request's thousand messages, a webhook's thousand messages or statuses) read a field of a nested
object with ``string(key, within=...)`` and keep nested objects as data with ``object_data``.
"""

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from textpeak.lib import json_input


@dataclass(frozen=True, slots=True)
class Rules:
    """What one caller takes in its JSON, and how it words what it does not.

    The texts are ``str.format`` templates. Each may use ``{where}`` (the object's place, as the
    caller named it), ``{key}``, ``{path}`` (``nest(where, key)``: just the key unless ``nest``
    says otherwise) and the facts of its check: ``{max_length}`` for a text, ``{low}`` and
    ``{high}`` for a number.
    """

    error: Callable[[str], Exception]
    # The texts and values that count as not given: most callers take a blank text for no text.
    # An object, array or number is absent only when it is null or missing: "" is not one.
    absent: tuple = (None, "")
    # Meta's leniency: a number where text belongs is its digits, a text where a number
    # belongs is read as one.
    numbers_as_text: bool = False
    # Refuse texts that are not valid Unicode (lone surrogates, which JSON's \u escapes allow).
    unicode_checked: bool = False
    # The place of a nested object; None: its key.
    nest: Callable[[str, str], str] | None = None
    problem: str = "{problem}"  # what Shape.error says; takes {where} and {problem}
    required: str = "{path} is required."
    not_string: str = "{path} must be a string."
    too_long: str = "{path} is longer than {max_length} characters."
    not_unicode: str = "{path} is not valid Unicode."
    not_object: str = "{path} must be an object."
    object_required: str | None = None  # None: as ``required``
    not_list: str = "{path} must be an array."
    not_objects: str | None = None  # a list of objects that is not a list; None: as ``not_list``
    objects_required: str | None = None  # None: as ``required``
    not_item: str = "{path}[] must be an object."  # an item of a list of objects
    not_number: str = "{path} must be a number."
    number_required: str | None = None  # None: as ``required``


class Shape:
    """One JSON object (``data``) found at ``where``, read with its caller's ``rules``.

    Readers return the value, or an empty one when it is absent and not required, and raise
    ``rules.error`` at the first problem.
    """

    __slots__ = ("data", "rules", "where")

    def __init__(self, data: dict, rules: Rules, where: str = "") -> None:
        self.data = data
        self.rules = rules
        self.where = where

    def __repr__(self) -> str:
        return f"Shape({self.data!r}, where={self.where!r})"

    def at(self, where: str) -> "Shape":
        """The same object, read as found at ``where``."""
        return Shape(self.data, self.rules, where)

    def error(self, problem: str) -> Exception:
        """The exception for a problem the caller found itself, worded as ``rules.problem``."""
        return self.rules.error(self.rules.problem.format(where=self.where, problem=problem))

    def value(self, key: str, *, required: bool = False) -> Any:
        """Any JSON value; None when absent."""
        value = self.data.get(key)
        if value in self.rules.absent:
            if required:
                raise self._fail(self.rules.required, key)
            return None
        return value

    def string(
        self, key: str, *, required: bool = False, max_length: int = 0, within: str | None = None
    ) -> str:
        """A text of at most ``max_length`` characters (0: any); "" when absent. ``within``
        reads it from that nested object, as ``object(within).string(key)`` would, without
        making a ``Shape`` of it."""
        value = (self.data if within is None else self.object_data(within)).get(key)
        rules = self.rules
        if value.__class__ is not str or not value:  # else a text is given: the common case
            if value in rules.absent:
                if required:
                    raise self._fail(rules.required, key, within)
                return ""
            if not isinstance(value, str):
                if rules.numbers_as_text and isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                else:
                    raise self._fail(rules.not_string, key, within, max_length=max_length)
        if max_length and len(value) > max_length:
            raise self._fail(rules.too_long, key, within, max_length=max_length)
        if rules.unicode_checked:
            try:
                value.encode()
            except UnicodeEncodeError:
                raise self._fail(rules.not_unicode, key, within) from None
        return value

    def object(self, key: str, *, required: bool = False) -> "Shape":
        """A nested object, at ``nest(where, key)``; an empty one when absent."""
        value = self.data.get(key)
        if value.__class__ is not dict:
            value = self.object_data(key, required=required)
        rules = self.rules
        return Shape(value, rules, rules.nest(self.where, key) if rules.nest else key)

    def object_data(self, key: str, *, required: bool = False) -> dict:
        """A nested object as it is; {} when absent."""
        value = self.data.get(key)
        if value is None:
            if required:
                rules = self.rules
                raise self._fail(rules.object_required or rules.required, key)
            return {}
        if not isinstance(value, dict):
            raise self._fail(self.rules.not_object, key)
        return value

    def list(self, key: str, *, required: bool = False) -> list:
        """An array, its items as they are; [] when absent."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self._fail(self.rules.required, key)
            return []
        if not isinstance(value, list):
            raise self._fail(self.rules.not_list, key)
        return value

    def objects(
        self, key: str, *, each: str | None = None, required: bool = False
    ) -> Iterable["Shape"]:
        """The objects of an array, each at ``each`` (None: at ``path[index]``); none when
        absent. The array is checked at once, each item as it is reached: a caller that reads
        one item before the next meets the first problem in reading order."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self._fail(self.rules.objects_required or self.rules.required, key)
            return ()
        rules = self.rules
        if not isinstance(value, list):
            raise self._fail(rules.not_objects or rules.not_list, key)
        if each is None:
            return self._each(value, key, each)
        shapes = []
        for item in value:
            if not isinstance(item, dict):
                return self._each(value, key, each)  # to fail when the caller reaches it
            shapes.append(Shape(item, rules, each))
        return shapes

    def number(
        self,
        key: str,
        *,
        required: bool = False,
        low: float | None = None,
        high: float | None = None,
    ) -> int | float | None:
        """A finite number (not a boolean) from ``low`` to ``high`` if given; None when absent."""
        value = self.data.get(key)
        if value.__class__ is not float and value.__class__ is not int:
            if value is None:
                if required:
                    template = self.rules.number_required or self.rules.required
                    raise self._fail(template, key, low=low, high=high)
                return None
            if not (self.rules.numbers_as_text and isinstance(value, str)):
                raise self._fail(self.rules.not_number, key, low=low, high=high)
            try:
                value = float(value)
            except ValueError:
                raise self._fail(self.rules.not_number, key, low=low, high=high) from None
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large to be a float
            finite = False
        if not finite or (low is not None and value < low) or (high is not None and value > high):
            raise self._fail(self.rules.not_number, key, low=low, high=high)
        return value

    def _each(self, items: Sequence, key: str, each: str | None) -> Iterator["Shape"]:
        rules = self.rules
        path = rules.nest(self.where, key) if rules.nest else key
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise self._fail(rules.not_item, key)
            yield Shape(item, rules, f"{path}[{index}]" if each is None else each)

    def _fail(
        self, template: str, key: str, within: str | None = None, **checked: Any
    ) -> Exception:
        rules = self.rules
        nest = rules.nest
        where = self.where
        if within is not None:
            where = nest(where, within) if nest else within
        path = nest(where, key) if nest else key
        return rules.error(template.format(where=where, key=key, path=path, **checked))


def body(raw: bytes, rules: Rules) -> Shape:
    """An HTTP body that must be one JSON object, read by ``json_input`` (no NaN, no
    Infinity), at "the body"."""
    try:
        data = json_input.loads(raw)
    except ValueError as error:
        raise rules.error(f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise rules.error("The body must be a JSON object.")
    return Shape(data, rules, "the body")
