"""The JSV codec (ServiceStack's "JSON + CSV" text format): examples, limits, a round-trip
property, and fuzzing (malformed input raises ``JsvError`` and nothing else, quickly)."""

from __future__ import annotations

import random
import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesrefund.http.dialects import jsv
from snr2u_helpers import FILLED_JSV, TEMPLATE_JSV

# -- the format as ServiceStack documents it ------------------------------------------------------------


def test_servicestack_examples():
    assert jsv.decode("[1,2,3,4,5]") == ["1", "2", "3", "4", "5"]
    assert jsv.decode("{A:1,B:2,C:3,D:4}") == {"A": "1", "B": "2", "C": "3", "D": "4"}
    assert jsv.decode("{Foo:Bar,Greet:Hello World!}") == {"Foo": "Bar", "Greet": "Hello World!"}
    assert jsv.decode('{Name:"Me, Junior"}') == {"Name": "Me, Junior"}
    assert jsv.decode('{Size:"2"" x 1"""}') == {"Size": '2" x 1"'}
    assert jsv.encode({"Name": "Me, Junior"}) == '{Name:"Me, Junior"}'
    assert jsv.encode({"Size": '2" x 1"'}) == '{Size:"2"" x 1"""}'
    assert jsv.encode({"Foo": "Bar", "Greet": "Hello World!"}) == "{Foo:Bar,Greet:Hello World!}"


def test_scalars_are_written_as_plain_text_and_read_back_as_strings():
    text = jsv.encode({"Amount": Decimal("12.50"), "Big": Decimal("1E+2"), "Qty": 3, "Ok": True, "No": False,
                       "Day": "2026-06-15", "Nothing": None, "Empty": "", "List": [], "Map": {}})
    assert text == '{Amount:12.50,Big:100,Qty:3,Ok:True,No:False,Day:2026-06-15,Nothing:,Empty:"",List:[],Map:{}}'
    assert jsv.decode(text) == {"Amount": "12.50", "Big": "100", "Qty": "3", "Ok": "True", "No": "False",
                                "Day": "2026-06-15", "Nothing": None, "Empty": "", "List": [], "Map": {}}


@pytest.mark.parametrize("text", ["a,b", "{x}", "[y]", 'say "hi"', " lead", "trail ", "", "\ttab", "line\n"])
def test_strings_that_need_quotes_are_quoted(text):
    encoded = jsv.encode({"K": text})
    assert encoded.startswith('{K:"')
    assert jsv.decode(encoded) == {"K": text}


def test_keys_with_reserved_characters_are_quoted():
    value = {"a:b": "1", "c,d": "2", " e": "3", "": "4"}
    assert jsv.encode(value) == '{"a:b":1,"c,d":2," e":3,"":4}'
    assert jsv.decode(jsv.encode(value)) == value


def test_the_documents_pretty_printed_samples_decode():
    request = jsv.decode(TEMPLATE_JSV)
    header = request["CustomerRefundNote"]["DocumentHeader"]
    assert header["DocumentDate"] == "0001-01-01" and header["IsUseTransactionBuyerElement"] == "False"
    assert request["CustomerRefundNote"]["DocumentDetails"][0]["ItemNo"] == "0"
    response = (
        "{ CustomerRefundNote: { DocumentHeader: { AcCusRefundNoteMID: String, DocumentNetAmount: 0 }, "
        "DocumentDetails: [ { ItemNo: 0, AcStockID: String } ], DocumentPaymentDetails: [ { ItemNo: 0 } ] }, "
        "ResponseStatus: { ErrorCode: String, Message: String, StackTrace: String, Errors: [ { ErrorCode: String, "
        "FieldName: String, Message: String, Meta: { String: String } } ], Meta: { String: String } } }")
    decoded = jsv.decode(response)
    assert decoded["ResponseStatus"]["Errors"][0]["Meta"] == {"String": "String"}
    assert decoded["CustomerRefundNote"]["DocumentDetails"] == [{"ItemNo": "0", "AcStockID": "String"}]
    filled = jsv.decode(FILLED_JSV)["CustomerRefundNote"]
    assert filled["DocumentHeader"]["ShipToAddress1"] == "No. 12, Jalan Ampang"
    assert filled["DocumentDetails"][1]["ItemRemark1"] == "Chipped, goodwill discount"


def test_whitespace_between_tokens_is_not_part_of_values():
    assert jsv.decode(" {\r\n A : x y ,\n\tB:\n[ 1 , 2 ] , C : } ") == {"A": "x y", "B": ["1", "2"], "C": None}
    assert jsv.decode('{A: "  padded  " }') == {"A": "  padded  "}
    assert jsv.decode("\ufeff{A:1}".encode()) == {"A": "1"}  # a UTF-8 byte order mark is skipped


# -- strict: malformed input is an error naming its position ----------------------------------------------

@pytest.mark.parametrize("text, message, line, column", [
    ("", "the document is empty", 1, 1),
    ("{A:1", "the object is not closed", 1, 5),
    ("{A:1,}", "expected a key", 1, 6),
    ("{A}", "expected ':'", 1, 3),
    ("{A:1,A:2}", "duplicate key 'A'", 1, 6),
    ("[a,]", "a list item is empty", 1, 4),
    ("[,a]", "a list item is empty", 1, 2),
    ("[a b", "the list is not closed", 1, 5),
    ('{A:"x}', "a quoted string is not closed", 1, 4),
    ('{A:x"y}', "must be quoted", 1, 5),
    ('{A:"x"y}', "expected ',' or '}'", 1, 7),
    ("{A:1]", "unexpected ']' in a value", 1, 5),
    ("{A:1}}", "after the end of the value", 1, 6),
    ("{\n  A: [1,\n  2}", "unexpected '}' in a value", 3, 4),
    ("a,b", "unexpected ','", 1, 2),
])
def test_malformed_documents_are_refused_with_their_position(text, message, line, column):
    with pytest.raises(jsv.JsvError) as raised:
        jsv.decode(text)
    error = raised.value
    assert message in str(error)
    assert (error.line, error.column) == (line, column)
    assert f"line {line}, column {column}" in str(error)


def test_invalid_utf8_is_refused_with_its_position():
    with pytest.raises(jsv.JsvError, match=r"not valid UTF-8 at line 2, column 4"):
        jsv.decode(b"{A:\nxyz\xff}")


def test_limits_on_depth_size_and_values():
    deep_ok = "[" * jsv.MAX_DEPTH + "x" + "]" * jsv.MAX_DEPTH
    assert jsv.decode(deep_ok) is not None
    with pytest.raises(jsv.JsvError, match="nested deeper than 32"):
        jsv.decode("[" * (jsv.MAX_DEPTH + 1) + "x" + "]" * (jsv.MAX_DEPTH + 1))
    with pytest.raises(jsv.JsvError, match="larger than"):
        jsv.decode(b"[" + b"a," * 600_000 + b"a]")
    with pytest.raises(jsv.JsvError, match="too many values"):
        jsv.decode("[" + ",".join(["a"] * (jsv.MAX_VALUES + 1)) + "]")
    with pytest.raises(ValueError):
        jsv.encode(_nested(jsv.MAX_DEPTH + 1))


def _nested(depth: int):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_what_cannot_be_written_is_refused():
    for value in (None, [None], {1: "a"}, 1.5, Decimal("NaN"), object()):
        with pytest.raises((TypeError, ValueError)):
            jsv.encode(value)


@pytest.mark.parametrize("document", [
    "[" * 1_000_000, "{" * 1_000_000, " " * 999_999, '"' * 999_999, '"' + '""' * 499_999,
    "{" + "A:[" * 20 + "x", "[" + "a," * 99_999 + "a]", "{" + "k" * 999_990 + ":v}",
])
def test_pathological_documents_are_answered_quickly(document):
    started = time.perf_counter()
    try:
        jsv.decode(document)
    except jsv.JsvError:
        pass
    assert time.perf_counter() - started < 2.0


# -- properties -------------------------------------------------------------------------------------------

scalars = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
keys = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(keys, st.one_of(st.none(), children), max_size=4),
    max_leaves=20)


@given(values)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(value):
    assert jsv.decode(jsv.encode(value)) == value
    assert jsv.decode(jsv.encode(value).encode("utf-8")) == value


def _pretty(value, depth=0) -> str:
    """The value written like the SnR2U document: a token per line, with indentation."""
    pad = "\n" + "  " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{pad}{jsv._key(k)} :  " + ("" if v is None else _pretty(v, depth + 1)) for k, v in value.items()]
        return "{" + " ,".join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list):
        return "[" + " , ".join(pad + _pretty(v, depth + 1) for v in value) + "\n]"
    return jsv.quote(value)


@given(values)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_whitespace_between_tokens_does_not_change_the_value(value):
    assert jsv.decode(" \n" + _pretty(value) + "\r\n\t") == value


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_random_bytes_decode_or_raise_jsv_error(data):
    try:
        jsv.decode(data)
    except jsv.JsvError:
        pass


@given(values, st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_documents_decode_or_raise_jsv_error(value, data):
    text = bytearray(jsv.encode(value).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(("insert", "delete", "replace")))
        byte = data.draw(st.sampled_from(b'{}[],:" \n\\a0\xff\xc3'))
        if action == "insert" or not text:
            text[at:at] = bytes([byte])
        elif action == "delete":
            del text[min(at, len(text) - 1)]
        else:
            text[min(at, len(text) - 1)] = byte
    try:
        decoded = jsv.decode(bytes(text))
    except jsv.JsvError:
        return
    assert jsv.decode(jsv.encode(decoded)) == decoded  # whatever is accepted is a valid value


def test_random_mutations_of_the_filled_example_never_crash():
    rng = random.Random(20260615)
    base = FILLED_JSV.encode()
    alphabet = b'{}[],:" \n\r\tAZaz09.-"\x00\xff'
    for _ in range(3000):
        text = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(text))
            choice = rng.random()
            if choice < 0.4:
                text[at] = rng.choice(alphabet)
            elif choice < 0.7:
                del text[at]
            else:
                text[at:at] = bytes([rng.choice(alphabet)])
        try:
            jsv.decode(bytes(text))
        except jsv.JsvError:
            pass
