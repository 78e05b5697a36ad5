"""The SnR2U door's parsing half (``snr2u.py`` routes and renders): the body read (JSON or JSV, by the
shared strict reader, errors named as the document names the field) and parsed into ``IssueRefund``."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from fastapi import Request

from ...domain import money
from ...domain.commands import ExpectedLine, ExpectedTotals, IssueRefund, PaymentRequest, RefundLineRequest
from ...domain.errors import Invalid, Violation
from . import pipeline
from .servicestack import parse_date as _date, parse_datetime as _datetime
from .snr2u_fields import CHANNEL, DETAIL, ENVELOPE, HEADER, HEADER_ECHOED, INT_MAX, MAX_ITEMS, NOTE, PAYMENT


async def _read_body(request: Request, given: str):
    """The decoded body: JSON (exact decimals) or JSV (strings); ``Invalid`` when malformed."""
    try:
        return await pipeline.read_body(request, given)
    except pipeline.BodyError as error:
        if error.kind == "too_large":
            raise _malformed("the request body is too large")
        message = "the request body is not valid JSV ({detail})" if error.kind == "jsv" else \
            "the request body is not valid JSON ({detail})"
        raise Invalid(Violation("", "validation_error", message, {"detail": error.detail}))
    except Invalid as error:  # a lone surrogate, a key given twice: named as the document names the field
        raise _named_by_path(error)


def _named_by_path(error: Invalid) -> Invalid:
    """``/CustomerRefundNote/DocumentDetails/1/ItemDescription`` -> ``DocumentDetails[1].ItemDescription``."""
    violations = []
    for v in error.violations:
        parts = v.field.strip("/").split("/") if v.field.startswith("/") else []
        if parts and parts[0] == "CustomerRefundNote":
            parts = parts[1:]
        name = ""
        for part in parts:
            name += f"[{part}]" if part.isdecimal() else (f".{part}" if name else part)
        violations.append(dataclasses.replace(v, field=name or v.field))
    return Invalid(violations)


def _malformed(message: str) -> Invalid:
    return Invalid(Violation("", "validation_error", message))


# -- parsing: the body into IssueRefund ----------------------------------------------------------------

@dataclass
class Note:
    number: str
    command: IssueRefund


_NUMBERS = {"amount": lambda raw, where, cur: money.parse_amount(raw, where, cur),  # exact, at their scale
            "price": lambda raw, where, cur: money.parse_price(raw, where),
            "quantity": lambda raw, where, cur: money.parse_quantity(raw, where)}


@dataclass
class _Reader:
    """Reads the fields of one object of the body, collecting every violation (ServiceStack
    reports all field errors at once)."""

    cur: money.Currency
    bad: list[Violation] = field(default_factory=list)

    def invalid(self, name: str, message: str, **params) -> None:
        self.bad.append(Violation(name, "validation_error", message, {"field_name": name, **params}))

    def fields(self, value, path: str, spec) -> dict | None:
        """``{name: parsed value}`` for an object with fields ``spec`` (names matched without
        regard to case, as ServiceStack does); None when ``value`` is not an object."""
        if not isinstance(value, dict):
            self.invalid(path or "CustomerRefundNote", "{field_name} must be an object")
            return None
        known = {name.lower(): (name, kind, required, extra) for name, kind, required, extra in spec}
        given: dict[str, object] = {}
        for key, item in value.items():
            entry = known.get(key.lower()) if isinstance(key, str) else None
            where = f"{path}.{key}" if path else str(key)
            if entry is None:
                self.invalid(where, "{field_name} is not a field of this request")
            elif entry[0] in given:
                self.invalid(where, "{field_name} is given twice (field names are not case-sensitive)")
            else:
                given[entry[0]] = item
        result = {}
        for name, kind, required, extra in spec:
            where = f"{path}.{name}" if path else name
            result[name] = self.value(given.get(name), where, kind, required, extra)
        return result

    def value(self, raw, where: str, kind: str, required: bool, extra):
        if kind == "readonly":
            return None  # filled by the server in the answer; what a client sends is ignored
        if raw is None or (isinstance(raw, str) and raw == "" and kind not in ("text", "object", "list")):
            return self.missing(where, required)
        if kind == "object" and not isinstance(raw, dict):
            return self.invalid(where, "{field_name} must be an object")
        if kind == "list" and not isinstance(raw, list):
            return self.invalid(where, "{field_name} must be a list")
        if kind == "list" and len(raw) > MAX_ITEMS:
            return self.invalid(where, "{field_name} may have at most {max} items", max=MAX_ITEMS)
        if kind in ("object", "list"):
            return raw
        if kind in ("code", "text", "choice", "country"):
            return self.string(raw, where, kind, required, extra)
        if kind in _NUMBERS:
            try:
                return _NUMBERS[kind](raw, where, self.cur)
            except Invalid as error:
                self.bad.extend(error.violations)
                return None
        if kind == "int":
            return self.integer(raw, where)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
                return raw.strip().lower() == "true"
            return self.invalid(where, "{field_name} must be True or False")
        if kind == "date":
            day = _date(raw)
            if day is None:
                return self.invalid(where, "{field_name} must be a date such as 2026-06-15")
            return self.missing(where, required) if day == date.min else day
        if kind == "datetime":
            moment = _datetime(raw)
            if moment is None:
                return self.invalid(where, "{field_name} must be a date and time such as 2026-06-15T10:30:00")
            return self.missing(where, required) if moment.date() == date.min else moment
        raise AssertionError(kind)

    def missing(self, where: str, required: bool) -> None:
        if required:
            self.invalid(where, "{field_name} is required")
        return None

    def string(self, raw, where: str, kind: str, required: bool, extra):
        if not isinstance(raw, str):
            return self.invalid(where, "{field_name} must be a string")
        if kind == "text":
            if len(raw) > extra:
                return self.invalid(where, "{field_name} must be at most {max} characters long", max=extra)
            return raw if raw or required else None
        if not raw.strip():
            return self.missing(where, required)
        if kind == "choice":
            if raw not in extra:
                return self.invalid(where, "{field_name} must be one of {choices}", choices=", ".join(extra))
            return raw
        if kind == "country" and not re.fullmatch(r"[A-Z]{3}", raw):
            return self.invalid(where, "{field_name} must be an ISO 3166 country code such as MYS")
        if len(raw) > extra:
            return self.invalid(where, "{field_name} must be at most {max} characters long", max=extra)
        return raw

    def integer(self, raw, where: str):
        if isinstance(raw, int) and not isinstance(raw, bool):
            number = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,10}\s*", raw):
            number = int(raw)
        else:
            return self.invalid(where, "{field_name} must be a whole number")
        if not 1 <= number <= INT_MAX:
            return self.invalid(where, "{field_name} must be a whole number from 1 to {max}", max=INT_MAX)
        return number


def parse(body, cur: money.Currency) -> Note:
    """The SnR2U body as the one ``IssueRefund`` every door builds; ``Invalid`` naming every bad field."""
    reader = _Reader(cur)
    if not isinstance(body, dict):
        raise Invalid(Violation("", "validation_error",
                                "the request body must be an object: {{CustomerRefundNote: {{...}}}}"))
    envelope = reader.fields(body, "", ENVELOPE)
    refund_note = envelope["CustomerRefundNote"] if envelope else None
    note = reader.fields(refund_note, "", NOTE) if refund_note is not None else None
    if note is None:
        raise Invalid(reader.bad)
    header = reader.fields(note["DocumentHeader"], "DocumentHeader", HEADER) \
        if note["DocumentHeader"] is not None else None
    details = [reader.fields(d, f"DocumentDetails[{i}]", DETAIL) for i, d in enumerate(note["DocumentDetails"] or [])]
    payments = [reader.fields(p, f"DocumentPaymentDetails[{i}]", PAYMENT)
                for i, p in enumerate(note["DocumentPaymentDetails"] or [])]
    number = header["AcCusRefundNoteMID"] if header else None
    if header and header["IsUseAcStockCompanyIDForStockValidation"]:
        reader.invalid("DocumentHeader.IsUseAcStockCompanyIDForStockValidation",
                       "{field_name}: lookup by AcStockCompanyID is not supported; send False and the AcStockID")
    for rows, path in ((details, "DocumentDetails"), (payments, "DocumentPaymentDetails")):
        seen: dict[str, set] = {"ItemNo": set(), "AcCusRefundNoteDID": set()}
        for i, row in enumerate(rows):
            if row is None:
                continue
            if number is not None and row["AcCusRefundNoteMID"] not in (None, number):
                reader.invalid(f"{path}[{i}].AcCusRefundNoteMID",
                               "{field_name} must be {expected}, the refund note number of the header",
                               expected=number)
            for key in seen:
                value = row.get(key)
                if value is not None and value in seen[key]:
                    reader.invalid(f"{path}[{i}].{key}", "{field_name} {value} is used by another line",
                                   value=value)
                elif value is not None:
                    seen[key].add(value)
    if reader.bad:
        raise Invalid(reader.bad)
    return Note(number, _command(header, details, payments))


def _command(header: dict, details: list[dict], payments: list[dict]) -> IssueRefund:
    """Field by field onto the command (see docs/doors/snr2u.md)."""
    lines, expected = [], []
    for d in details:
        by_amount = d["ItemDiscountAmount"] != 0  # a discounted line refunds its total, not price x qty
        lines.append(RefundLineRequest(
            product=d["AcStockID"], quantity=d["ItemQuantity"], unit=d["AcStockUOMID"],
            unit_price=None if by_amount else d["ItemUnitPrice"],
            amount_minor=d["ItemTotalPrice"] if by_amount else None, location=header["AcLocationID"]))
        expected.append(ExpectedLine(extended_minor=d["ItemGrossTotal"], discount_minor=d["ItemDiscountAmount"],
                                     total_minor=d["ItemTotalPrice"],
                                     unit_price=d["ItemUnitPrice"] if by_amount else None))
    metadata = {CHANNEL: {
        "header": {name: _plain(header[name]) for name in HEADER_ECHOED if header[name] is not None},
        "details": [{"AcCusRefundNoteDID": d["AcCusRefundNoteDID"], "ItemNo": d["ItemNo"],
                     "AcStockUOMID": d["AcStockUOMID"],
                     "ItemUnitPrice": money.format_scaled(d["ItemUnitPrice"], money.QUANTITY_PLACES),
                     "ItemGrossTotal": d["ItemGrossTotal"], "ItemDiscountAmount": d["ItemDiscountAmount"],
                     "ItemRemark1": d["ItemRemark1"]} for d in details],
        "payments": [{"ItemNo": p["ItemNo"], "ItemRemark1": p["ItemRemark1"]} for p in payments],
    }}
    return IssueRefund(
        lines=tuple(lines), invoice=header["AcCusInvoiceMID"], customer=header["AcCustomerID"],
        reason=header["DocumentReason"], state="posted", posting_date=header["DocumentDate"],
        document_date=header["DocumentDate"], location=header["AcLocationID"],
        payments=tuple(PaymentRequest(p["AcBillPaymentMethodID"], p["ItemCurrencyPaymentAmount"],
                                      p["ItemReferenceNumber"]) for p in payments),
        metadata=metadata, reference=header["AcCusRefundNoteMID"],
        expected=ExpectedTotals(lines=tuple(expected), net_minor=header["DocumentNetAmount"],
                                rounding_minor=header["DocumentCentBalance"],
                                total_minor=header["DocumentFinalAmount"]))


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value
