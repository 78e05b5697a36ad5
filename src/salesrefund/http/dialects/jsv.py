"""ServiceStack's JSV text format ("JSON + CSV"): a strict, bounded codec.

JSV writes objects as ``{Key:Value,Key2:Value2}`` and lists as ``[a,b,c]``. Strings go unquoted
unless they hold a character of ``, { } [ ] "`` (or surrounding whitespace, or are empty): then
they are wrapped in double quotes with inner quotes doubled, CSV style (``"a ""b"", c"``).
Numbers, booleans and dates are plain text (``12.50``, ``True``, ``2026-06-15``); null is an empty
value (``{A:,B:1}``). ServiceStack writes no whitespace, but the SnR2U document prints its sample
pretty, so whitespace (space, tab, CR, LF) between tokens is accepted and a bare value's
surrounding whitespace is not part of it.

The value model, both ways:

* decoding gives ``dict`` (keys in document order, unique), ``list`` and ``str``; ``None`` for an
  empty value, which is allowed as an object's value only (``[a,]`` and an empty document are
  errors). Every scalar stays a string: the caller maps it to a type (numbers through
  ``domain.money``, never a float);
* encoding takes the same, plus ``bool`` (``True``/``False``), ``int`` and ``Decimal`` (exact, never
  in exponent form) for convenience; ``decode(encode(x)) == x`` for every ``x`` of the model.

Malformed input raises ``JsvError`` (a ``ValueError``) naming the position; the decoder never
raises anything else, and it is bounded in size, depth and number of values.
"""

from __future__ import annotations

import re
from decimal import Decimal

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_VALUES = 100_000

MEDIA_TYPE = "text/jsv"

_WHITESPACE = " \t\r\n"
_RESERVED = set(',{}[]"')
_BARE = re.compile(r'[^,{}\[\]"]*')
_BARE_KEY = re.compile(r'[^,{}\[\]":]*')
_SPACES = re.compile(r"[ \t\r\n]*")


class JsvError(ValueError):
    """Malformed JSV: ``message`` at ``position`` (0-based character offset), ``line``, ``column``."""

    def __init__(self, message: str, text: str = "", position: int = 0):
        self.message = message
        self.position = position
        self.line = text.count("\n", 0, position) + 1
        self.column = position - (text.rfind("\n", 0, position) + 1) + 1
        super().__init__(f"{message} at line {self.line}, column {self.column}")


# -- decoding ------------------------------------------------------------------------------------

def decode(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
           max_values: int = MAX_VALUES):
    """The value of a JSV document, or ``JsvError``."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > max_bytes:
            raise JsvError(f"the document is larger than {max_bytes} bytes")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            prefix = bytes(data[:error.start]).decode("utf-8")
            raise JsvError("the document is not valid UTF-8", prefix, len(prefix)) from None
    elif isinstance(data, str):
        text = data
        if len(text) > max_bytes:
            raise JsvError(f"the document is larger than {max_bytes} characters")
    else:
        raise TypeError("decode takes bytes or str")
    text = text.removeprefix("\ufeff")  # a byte order mark is not part of the document
    return _Parser(text, max_depth, max_values).document()


class _Parser:
    def __init__(self, text: str, max_depth: int, max_values: int):
        self.text = text
        self.end = len(text)
        self.at = 0
        self.max_depth = max_depth
        self.values_left = max_values

    def fail(self, message: str, position: int | None = None):
        raise JsvError(message, self.text, self.at if position is None else position)

    def skip_ws(self) -> None:
        self.at = _SPACES.match(self.text, self.at).end()

    def peek(self) -> str:
        return self.text[self.at] if self.at < self.end else ""

    def document(self):
        self.skip_ws()
        if self.at >= self.end:
            self.fail("the document is empty")
        value = self.value(0, "")
        self.skip_ws()
        if self.at < self.end:
            self.fail(f"unexpected {self.peek()!r} after the end of the value")
        return value

    def count(self) -> None:
        self.values_left -= 1
        if self.values_left < 0:
            self.fail("the document has too many values")

    def value(self, depth: int, closers: str):
        """A value starting at a non-whitespace character; ``closers`` end a bare value."""
        self.count()
        char = self.peek()
        if char == "{":
            return self.map(depth + 1)
        if char == "[":
            return self.list(depth + 1)
        if char == '"':
            return self.quoted()
        return self.bare(closers)

    def map(self, depth: int) -> dict:
        if depth > self.max_depth:
            self.fail(f"the document is nested deeper than {self.max_depth} levels")
        self.at += 1  # {
        result: dict = {}
        self.skip_ws()
        if self.peek() == "}":
            self.at += 1
            return result
        while True:
            self.skip_ws()
            start = self.at
            key = self.key()
            if key in result:
                self.fail(f"duplicate key {key!r}", start)
            self.skip_ws()
            if self.peek() != ":":
                self.fail(f"expected ':' after the key {key!r}")
            self.at += 1
            self.skip_ws()
            if self.peek() in (",", "}"):
                self.count()
                result[key] = None  # an empty value is null
            elif self.at >= self.end:
                self.fail("unexpected end of the document: the object is not closed")
            else:
                result[key] = self.value(depth, ",}")
            self.skip_ws()
            char = self.peek()
            if char == ",":
                self.at += 1
                continue
            if char == "}":
                self.at += 1
                return result
            if not char:
                self.fail("unexpected end of the document: the object is not closed")
            self.fail(f"expected ',' or '}}' in the object, found {char!r}")

    def key(self) -> str:
        char = self.peek()
        if char == '"':
            return self.quoted()
        if not char:
            self.fail("unexpected end of the document: expected a key")
        match = _BARE_KEY.match(self.text, self.at)
        raw = match.group()
        key = raw.strip(_WHITESPACE)
        if not key:
            self.fail(f"expected a key, found {char!r}")
        self.at = match.end()
        return key

    def list(self, depth: int) -> list:
        if depth > self.max_depth:
            self.fail(f"the document is nested deeper than {self.max_depth} levels")
        self.at += 1  # [
        result: list = []
        self.skip_ws()
        if self.peek() == "]":
            self.at += 1
            return result
        while True:
            self.skip_ws()
            char = self.peek()
            if char in (",", "]"):
                self.fail("a list item is empty (null is not allowed in a list)")
            if not char:
                self.fail("unexpected end of the document: the list is not closed")
            result.append(self.value(depth, ",]"))
            self.skip_ws()
            char = self.peek()
            if char == ",":
                self.at += 1
                continue
            if char == "]":
                self.at += 1
                return result
            if not char:
                self.fail("unexpected end of the document: the list is not closed")
            self.fail(f"expected ',' or ']' in the list, found {char!r}")

    def quoted(self) -> str:
        start = self.at
        self.at += 1  # opening quote
        parts = []
        text = self.text
        while True:
            close = text.find('"', self.at)
            if close < 0:
                self.fail("a quoted string is not closed", start)
            parts.append(text[self.at:close])
            if close + 1 < self.end and text[close + 1] == '"':  # "" is a literal quote
                parts.append('"')
                self.at = close + 2
                continue
            self.at = close + 1
            return "".join(parts)

    def bare(self, closers: str) -> str:
        start = self.at
        match = _BARE.match(self.text, self.at)
        raw = match.group()
        self.at = match.end()
        value = raw.rstrip(_WHITESPACE)
        if not value:
            self.fail(f"expected a value, found {self.peek()!r}", start)
        char = self.peek()
        if char and char not in closers:
            if char == '"':
                self.fail("a value with a double quote must be quoted (\"...\" with the quote doubled)")
            self.fail(f"unexpected {char!r} in a value (a value holding it must be quoted)")
        return value


# -- encoding ------------------------------------------------------------------------------------

def encode(value) -> str:
    """``value`` as compact JSV (what ServiceStack writes). ``None`` is allowed as an object's value."""
    out: list[str] = []
    _write(value, out, 0)
    return "".join(out)


def _needs_quotes(text: str) -> bool:
    return (not text or text[0] in _WHITESPACE or text[-1] in _WHITESPACE
            or any(c in _RESERVED for c in text))


def quote(text: str) -> str:
    """A string as a JSV value: bare when it can be, else CSV-quoted."""
    return '"' + text.replace('"', '""') + '"' if _needs_quotes(text) else text


def _key(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if _needs_quotes(text) or ":" in text else text


def _write(value, out: list[str], depth: int) -> None:
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_DEPTH:
        raise ValueError(f"the value is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, bool):
        out.append("True" if value else "False")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("JSV has no NaN or Infinity")
        out.append(format(value, "f"))
    elif isinstance(value, dict):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError("JSV object keys are strings")
            if n:
                out.append(",")
            out.append(_key(key))
            out.append(":")
            if item is not None:
                _write(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for n, item in enumerate(value):
            if item is None:
                raise ValueError("JSV has no null list items")
            if n:
                out.append(",")
            _write(item, out, depth + 1)
        out.append("]")
    elif value is None:
        raise ValueError("a JSV document cannot be null")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSV")
