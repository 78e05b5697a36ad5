"""ServiceStack's conventions the SnR2U door speaks beyond its document (issue 10): the casing of
the answer's names (camelCase JSON, ServiceStack's default on .NET Core and what its clients read;
PascalCase JSV, as the document prints it; ``?jsconfig`` for another), the format of a request and
of its answer (``?format``, the ``.json``/``.jsv`` suffix, ``Accept``, ``Content-Type``) and its dates
(ISO 8601 or the WCF ``/Date(ms+zone)/``). The JSV codec is ``jsv.py``."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from starlette.requests import Request

from ...domain.errors import Invalid, RefundError, Violation, reject
from . import jsv

_JSON = "application/json"


# -- formats -----------------------------------------------------------------------------------------

def formats(request: Request, suffix: str | None) -> tuple[str, str, RefundError | None]:
    """(format of the body, format of the answer, the error to answer when the request names a
    format this door does not speak). Formats are ``json`` or ``jsv``."""
    wanted = request.query_params.get("format", "").strip().lower() or suffix
    if wanted not in (None, "json", "jsv"):
        error = Invalid(Violation("format", "validation_error", "{field_name} must be one of {choices}",
                                  {"field_name": "format", "choices": "json, jsv"}))
        return "json", accepted(request.headers.get("accept", ""), "json"), error
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == jsv.MEDIA_TYPE:
        given = "jsv"
    elif content_type in (_JSON, "text/json") or content_type.endswith("+json"):
        given = "json"
    elif wanted is not None:
        given = wanted
    elif content_type in ("", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"):
        given = "json"
    else:
        error = reject("unsupported_media_type", "Content-Type",
                       "the Content-Type {content_type} is not supported; send application/json or text/jsv",
                       content_type=content_type)
        return "json", wanted or accepted(request.headers.get("accept", ""), "json"), error
    return given, wanted or accepted(request.headers.get("accept", ""), given), None


def accepted(accept: str, default: str) -> str:
    """The format ``Accept`` prefers between JSV and JSON; ``default`` when it does not say."""
    quality = {"jsv": -1.0, "json": -1.0}
    for part in accept.split(","):
        kind, _, params = part.strip().partition(";")
        kind = kind.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        fmt = "jsv" if kind == jsv.MEDIA_TYPE else "json" if kind in (_JSON, "text/json") else None
        if fmt is not None:
            quality[fmt] = max(quality[fmt], q)
    if quality["jsv"] > quality["json"]:
        return "jsv" if quality["jsv"] > 0 else default
    if quality["json"] > quality["jsv"]:
        return "json"
    return default


# -- the names' casing -------------------------------------------------------------------------------

# ServiceStack on .NET Core writes JSON property names in camelCase (what its clients read) and JSV in
# PascalCase, as the document prints it; a client picks another casing per request with ?jsconfig
# (TextCase:PascalCase, tc:cc, EmitPascalCaseNames, eccn:false, EmitLowercaseUnderscoreNames, ...).
# Keys of a ``Meta`` dictionary are data, never recased.

_TEXT_CASES = {"camelcase": "camel", "cc": "camel", "pascalcase": "pascal", "pc": "pascal",
               "snakecase": "snake", "sc": "snake", "default": None, "d": None}
_CASE_FLAGS = {"emitcamelcasenames": ("camel", "pascal"), "eccn": ("camel", "pascal"),  # (when true, false)
               "emitpascalcasenames": ("pascal", "camel"), "epcn": ("pascal", "camel"),
               "emitlowercaseunderscorenames": ("snake", None), "elun": ("snake", None)}


def text_case(request: Request, out: str) -> str:
    """``camel``, ``pascal`` or ``snake``: what ``?jsconfig`` asks for, else the format's default.
    Other jsconfig options are accepted and change nothing."""
    case = None
    for key, value in request.query_params.multi_items():
        for option in value.split(",") if key.lower() == "jsconfig" else ():
            name, _, setting = (part.strip() for part in option.lower().partition(":"))
            if name in ("textcase", "tc"):
                case = _TEXT_CASES.get(setting, case)
            elif name in _CASE_FLAGS:
                case = _CASE_FLAGS[name][setting in ("false", "0")]
    return case or ("camel" if out == "json" else "pascal")


def camel_name(name: str) -> str:
    """ServiceStack's camelCase: the leading capitals lower-cased but for one that starts a word
    (``AcCusRefundNoteMID`` -> ``acCusRefundNoteMID``, ``EInvoiceRegName_Buyer`` -> ``eInvoiceRegName_Buyer``)."""
    lead = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    lead = lead if lead == len(name) or lead <= 1 else lead - 1
    return name[:max(lead, 1)].lower() + name[max(lead, 1):]


_NAMERS = {"pascal": lambda name: name, "camel": camel_name,
           "snake": lambda name: re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), camel_name(name))}


def recased(value, case: str):
    """``value`` (an answer in PascalCase) with every property name in ``case``."""
    if isinstance(value, dict):
        return {_NAMERS[case](key): item if key == "Meta" else recased(item, case) for key, item in value.items()}
    if isinstance(value, list):
        return [recased(item, case) for item in value]
    return value


# -- dates ---------------------------------------------------------------------------------------------

_WCF_DATE = re.compile(r"^\\?/Date\((-?\d{1,15})([+-]\d{4})?\)\\?/$")


def parse_datetime(raw) -> datetime | None:
    """ISO 8601 (``2026-06-15``, ``2026-06-15T10:30:00.0000000+08:00``) or ServiceStack's WCF
    JSON date (``/Date(1781517000000+0800)/``); None when it is neither."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    text = raw.strip()
    wcf = _WCF_DATE.match(text)
    try:
        if wcf:
            moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(wcf.group(1)))
            if wcf.group(2):
                sign = -1 if wcf.group(2)[0] == "-" else 1
                offset = timedelta(hours=int(wcf.group(2)[1:3]), minutes=int(wcf.group(2)[3:5]))
                moment = moment.astimezone(timezone(sign * offset))
            return moment
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.,]+(Z|[+-]\d{2}:?\d{2})?)?", text):
            return None
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None


def parse_date(raw) -> date | None:
    """A date, or the date of a date and time (ServiceStack writes DATE columns as DateTime)."""
    moment = parse_datetime(raw)
    return moment.date() if moment is not None else None
