"""Hypothesis strategies that start from a valid request and break it (issue 4, item 12).

A document is a value of this model: ``dict`` / ``Pairs`` (an object; ``Pairs`` may repeat a key),
``list``, ``str``, ``bool``, ``None`` and ``Raw`` (a JSON token written verbatim: ``1e999999``,
``NaN``, ``-0``, ``12.50``). ``emit`` writes it as JSON text; ``structural`` mutates the value
(drop a field, change its type, nasty numbers and strings, wrong containers, deep nesting,
duplicate and unknown keys); ``textual`` mutates the text itself (truncation, stray bytes,
invalid UTF-8).
"""

from __future__ import annotations

import json
import re

from hypothesis import strategies as st


class Raw(str):
    """A JSON token written as is (a number exactly as the client wrote it, or NaN / Infinity)."""


class Pairs(list):
    """An object as (key, value) pairs: keys may repeat."""


def parse(text: str):
    """JSON text as the mutation model: every number becomes ``Raw`` (exact, as written)."""
    return json.loads(text, parse_float=Raw, parse_int=Raw, parse_constant=Raw)


def emit(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{emit(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{emit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(emit(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def nested(depth: int, leaf="x"):
    value = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"n": value}
    return value


NUMBERS = [Raw(x) for x in (
    "NaN", "Infinity", "-Infinity", "1e999999", "-1e999999", "1e-999999", "1E+2", "-0", "0", "-1", "1.0", "0.5",
    "12.345", "0.00001", "10000000000000", "9999999999999.9999", "-9999999999999", "99999999999999999999",
    "123456789012345678901234567890.123456789", "4.99999999999999999999", "2147483648", "9" * 5000)]
STRINGS = [
    "", " ", "abc", "\x00", "\u0000x", "𝕏🙂", "\u202eevil", "ÿ", "١٢", "٣.٥", "12.50", "  12.50  ", "-0.00", "1e5",
    "NaN", "Infinity", "0x10", "1_000", "12,50", "+1", ".5", "5.", "2026-02-30", "0001-01-01", "9999-12-31",
    "2026-06-15T25:61:00", "/Date(99999999999999999)/", "x" * 5000, "\ud7ff", "\\", '"', "{", "[", "null",
    "True", "False", "DRAFT", "POSTED", "id=", "number=", "S/221031/070515",
]
SCALARS = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(STRINGS), st.sampled_from([True, False, None]),
                    st.integers(-(2**70), 2**70).map(lambda n: Raw(str(n))),
                    st.decimals(allow_nan=False, places=6).map(lambda d: Raw(format(d, "f"))),
                    st.text(max_size=30))
def _copy(value):
    if isinstance(value, Pairs):
        return Pairs((k, _copy(v)) for k, v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


NASTY = st.one_of(
    SCALARS,
    st.sampled_from([[], {}, [[]], [{}], {"": None}, nested(31), nested(40), nested(200)]),
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=8), SCALARS, max_size=3),
).map(_copy)  # a fresh copy: later mutations must not change the shared samples


def _paths(value, at=()):
    """Every location in ``value`` (the root is ``()``)."""
    yield at
    if isinstance(value, Pairs):
        for n, (_, item) in enumerate(value):
            yield from _paths(item, at + (n,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, at + (key,))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _paths(item, at + (n,))


def _get(value, path):
    for step in path:
        value = value[step][1] if isinstance(value, Pairs) else value[step]
    return value


def _set(value, path, new):
    if not path:
        return new
    parent = _get(value, path[:-1])
    step = path[-1]
    if isinstance(parent, Pairs):
        parent[step] = (parent[step][0], new)
    else:
        parent[step] = new
    return value


BIG = ["9999999999999", "9999999999", "99999999.9999", "999999999999.99"]
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_MONEY_KEY = re.compile(r"amount|price|quantity|qty|total|cost", re.IGNORECASE)


def _magnify(value, big: str, all_of_them: bool, key: str = ""):
    """Every number in ``value`` replaced by ``big`` with its sign: JSON numbers, and decimal strings
    under money-like keys (``amount``, ``unit_price``, ``ItemQuantity``...); with ``all_of_them``
    false, 0 and 1 stay (so a quantity of one stays one)."""
    if isinstance(value, Pairs):
        return Pairs((k, _magnify(v, big, all_of_them, k)) for k, v in value)
    if isinstance(value, dict):
        return {k: _magnify(v, big, all_of_them, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_magnify(v, big, all_of_them, key) for v in value]
    numeric = isinstance(value, Raw) or (isinstance(value, str) and bool(_MONEY_KEY.search(str(key))))
    if numeric and _DECIMAL.match(value) and (all_of_them or value.lstrip("-") not in ("0", "1")):
        number = ("-" if value.startswith("-") else "") + big
        return Raw(number) if isinstance(value, Raw) else number
    return value


@st.composite
def structural(draw, base, max_mutations: int = 3):
    """``base`` with 1 to ``max_mutations`` structural mutations."""
    value = _copy(base)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = list(_paths(value))
        path = draw(st.sampled_from(paths))
        node = _get(value, path)
        kind = draw(st.sampled_from(("replace", "replace", "replace", "drop", "wrap", "swap", "duplicate", "unknown",
                                     "big")))
        if kind == "big":  # every number at once large: products and sums beyond what any column holds
            value = _magnify(value, draw(st.sampled_from(BIG)), draw(st.booleans()))
        elif kind == "drop" and path:
            parent = _get(value, path[:-1])
            del parent[path[-1]]
        elif kind == "wrap":
            value = _set(value, path, draw(st.sampled_from(([node], {"value": node}, [node, node]))))
        elif kind == "swap" and isinstance(node, dict):
            value = _set(value, path, list(node.values()))
        elif kind == "swap" and isinstance(node, list):
            value = _set(value, path, {str(n): item for n, item in enumerate(node)})
        elif kind == "duplicate" and isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            pairs = Pairs(node.items())
            pairs.insert(draw(st.integers(0, len(pairs))), (key, draw(NASTY)))
            value = _set(value, path, pairs)
        elif kind == "unknown" and isinstance(node, dict):
            node[draw(st.sampled_from(("id", "__proto__", "state", "extra", "", "a" * 300)))] = draw(NASTY)
        else:
            value = _set(value, path, draw(NASTY))
    return value


@st.composite
def textual(draw, text: str, max_mutations: int = 4):
    """``text`` (JSON, JSV...) as bytes with 1 to ``max_mutations`` byte-level mutations."""
    data = bytearray(text.encode("utf-8"))
    alphabet = b'{}[],:"\\ \n\t0123456789.-+eE\x00\xff\xc3\x80'
    for _ in range(draw(st.integers(1, max_mutations))):
        if not data:
            data.extend(b"{")
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(("insert", "delete", "replace", "truncate", "repeat")))
        if kind == "insert":
            data[at:at] = bytes([draw(st.sampled_from(alphabet))])
        elif kind == "delete":
            del data[at]
        elif kind == "replace":
            data[at] = draw(st.sampled_from(alphabet))
        elif kind == "truncate":
            del data[at:]
        else:
            end = min(len(data), at + draw(st.integers(1, 40)))
            data[at:at] = data[at:end] * draw(st.integers(1, 50))
    return bytes(data)


def documents(base, *, text=None):
    """A broken document: structurally mutated (emitted as JSON) or byte-mutated, as bytes."""
    text = emit(base) if text is None else text
    return st.one_of(structural(base).map(lambda v: emit(v).encode("utf-8")),
                     structural(base).map(lambda v: emit(v).encode("utf-8")),
                     textual(text))  # structural twice as often: it reaches deeper than broken text
