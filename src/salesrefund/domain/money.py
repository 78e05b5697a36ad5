"""Exact money and quantities (R1-R5).

Never a float: values arrive as ``str``, ``int`` or ``Decimal`` and become integers at a fixed
scale, and all arithmetic is on Python integers, which cannot round silently.

Scales used everywhere (names carry their unit):

* amounts: integer minor units of the currency (``amount_minor``; SAR 2 decimals, JPY 0, KWD 3);
* quantities and unit prices: integers in 1/10,000 (``QUANTITY_SCALE``, up to 4 decimals);
* tax rates: percentages in 1/10,000 of a percent (``15`` % is ``150_000``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple, Sequence

from .errors import Invalid, Violation

QUANTITY_PLACES = 4
QUANTITY_SCALE = 10**QUANTITY_PLACES
RATE_SCALE = 10**4  # tax rate percent scale: 15 % -> 150_000
PERCENT = 100 * RATE_SCALE
MAX_MAGNITUDE = 10**13  # R1: values beyond +-10^13 are refused

# ISO 4217 minor units. Unlisted codes default to 2 (most currencies).
ISO_EXPONENTS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3,
    "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
_DECIMAL_TEXT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


class Currency(NamedTuple):
    """A currency and the number of decimals its amounts carry (R3)."""

    code: str
    exponent: int

    @property
    def unit(self) -> int:
        """Minor units in one major unit (100 for SAR, 1 for JPY)."""
        return 10**self.exponent


def is_currency_code(code: object) -> bool:
    return isinstance(code, str) and bool(_CURRENCY_CODE.match(code))


def currency(code: str, exponent: int | None = None) -> Currency:
    """The currency ``code`` with its ISO exponent, or a tenant's own (MNT in whole tugrik: 0)."""
    if exponent is None:
        exponent = ISO_EXPONENTS.get(code, 2)
    return Currency(code, exponent)


def to_decimal(value: object, field: str) -> Decimal:
    """Parse a decimal without floats: ``str``, ``int`` or ``Decimal`` only (R1).

    Refuses floats, booleans, NaN, Infinity, exponents that explode and magnitudes of 10^13 or more.
    Strings must be plain decimals (``"12.50"``, no exponent); JSON numbers were decoded to
    ``Decimal`` by the door, so ``1e2`` as a JSON number is accepted as 100.
    """
    if isinstance(value, bool) or value is None:
        raise _bad(field, "must be a decimal number written as a string, e.g. \"12.50\"")
    if isinstance(value, float):
        raise _bad(field, "must be an exact decimal (a string such as \"12.50\"), not a binary float")
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text) or len(text) > 40:
            raise _bad(field, "must be a decimal number such as \"12.50\"")
        number = Decimal(text)
    elif isinstance(value, int):
        if abs(value) >= MAX_MAGNITUDE:
            raise _bad(field, "must be smaller than 10^13 in magnitude")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        raise _bad(field, "must be a decimal number such as \"12.50\"")
    if not number.is_finite():
        raise _bad(field, "must be a finite number")
    if number and number.adjusted() >= 13:
        raise _bad(field, "must be smaller than 10^13 in magnitude")
    return number


def scaled(value: object, field: str, places: int, what: str = "value") -> int:
    """``to_decimal`` then exactly ``value * 10**places`` as an int; more decimals are refused.

    Works on the decimal's digits, not through a decimal context, so a value with more than 28
    significant digits is refused or converted exactly, never silently rounded.
    """
    number = to_decimal(value, field)
    sign, digits, exponent = number.as_tuple()
    while len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    if digits == (0,):
        return 0
    if exponent < -places:
        noun = f"{places} decimal" + ("s" if places != 1 else "")
        raise _bad(field, f"allows at most {noun} for this {what}")
    units = int("".join(map(str, digits))) * 10 ** (exponent + places)
    return -units if sign else units


def parse_quantity(value: object, field: str) -> int:
    return scaled(value, field, QUANTITY_PLACES, "quantity")


def parse_price(value: object, field: str) -> int:
    return scaled(value, field, QUANTITY_PLACES, "price")


def parse_rate(value: object, field: str) -> int:
    """A tax rate in percent ("15" = 15 %), at most 4 decimals, 0 to 100."""
    rate = scaled(value, field, 4, "tax rate")
    if not 0 <= rate <= PERCENT:
        raise _bad(field, "must be a percentage between 0 and 100")
    return rate


def parse_amount(value: object, field: str, cur: Currency) -> int:
    """An amount in integer minor units; more decimals than the currency has are refused."""
    return scaled(value, field, cur.exponent, f"currency ({cur.code})")


def format_scaled(units: int, places: int) -> str:
    """``format_scaled(12345, 2) == "123.45"``; always exactly ``places`` decimals."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    if places == 0:
        return f"{sign}{units}"
    whole, frac = divmod(units, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def format_amount(amount_minor: int, cur: Currency) -> str:
    return format_scaled(amount_minor, cur.exponent)


def format_quantity(quantity: int) -> str:
    """Quantities print without trailing zeros: 2.5000 -> "2.5", 3.0000 -> "3"."""
    text = format_scaled(quantity, QUANTITY_PLACES)
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_price(price: int, cur: Currency) -> str:
    """Unit prices keep at least the currency's decimals: 12.5000 EUR -> "12.50", 0.3333 -> "0.3333"."""
    text = format_scaled(price, QUANTITY_PLACES)
    keep = len(text) - (QUANTITY_PLACES - cur.exponent) if cur.exponent else len(text) - QUANTITY_PLACES - 1
    while len(text) > keep and text.endswith("0"):
        text = text[:-1]
    return text.rstrip(".")


def format_rate(rate: int) -> str:
    return format_quantity(rate)


def to_decimal_amount(amount_minor: int, cur: Currency) -> Decimal:
    return Decimal(amount_minor).scaleb(-cur.exponent)


def div_round(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, exactly (integers only)."""
    if denominator <= 0:
        raise ZeroDivisionError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return sign * quotient


def extend(quantity: int, unit_price: int, cur: Currency) -> int:
    """quantity x unit price in minor units, rounded half up: 3 x 0.3333 SAR -> 1.00 (100)."""
    return div_round(quantity * unit_price * cur.unit, QUANTITY_SCALE * QUANTITY_SCALE)


def bounded(amount_minor: int, cur: Currency, field: str) -> int:
    """R1's bound on a computed figure too (a line's quantity x unit price, a cost, a document's
    total): 10^13 or more in major units is refused, so every figure, and the sums of a document,
    fit the 64-bit integer columns of every engine (a value of 10^13 is 10^15 minor units in EUR)."""
    if abs(amount_minor) >= MAX_MAGNITUDE * cur.unit:
        raise _bad(field, "gives an amount of 10^13 or more (amounts must be smaller than 10^13)")
    return amount_minor


def tax_included(gross_minor: int, rate: int) -> int:
    """Tax inside a tax-inclusive gross (R4): round(gross x r / (1 + r)). 115.00 at 15 % -> 15.00."""
    return div_round(gross_minor * rate, PERCENT + rate)


def tax_on(net_minor: int, rate: int) -> int:
    """Tax on a tax-exclusive net (R4): round(net x r). 100.00 at 15 % -> 15.00."""
    return div_round(net_minor * rate, PERCENT)


def round_to_increment(amount_minor: int, increment_minor: int) -> int:
    """Cash rounding (R5): to the nearest increment, halves up. MYR 0.05: 1.02 -> 1.00, 1.03 -> 1.05."""
    if increment_minor <= 1:
        return amount_minor
    return div_round(amount_minor, increment_minor) * increment_minor


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by largest remainder (R8): parts sum to total.

    Ties go to the earlier weight. All-zero weights split evenly. ``allocate(100, [1, 1, 1])``
    is ``[34, 33, 33]``.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    basis = sum(weights)
    if basis == 0:
        weights, basis = [1] * len(weights), len(weights)
    floors = [total * w // basis for w in weights]
    remainders = [total * w % basis for w in weights]
    short = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    assert sum(floors) == total
    return floors


def _bad(field: str, message: str) -> Invalid:
    return Invalid(Violation(field, "validation_error", "{field_name} " + message,
                             {"field_name": field.rsplit("/", 1)[-1] or field}))
