"""The SnR2U door's read routes (issue 13): one refund note by its ``AcCusRefundNoteMID`` and an
AutoQuery-style list, in the format and casing asked for; its own router, served after ``snr2u``'s (``dialects.routers``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response as HttpResponse

from ...domain import money
from ...domain.errors import Invalid, RefundError, Violation
from ...service.idempotency import Response
from ...service.reads import RefundReads
from ...service.tenants import Principal
from ...store.queries import snr2u as queries
from .. import responses as R
from . import common, pipeline
from .common import dumps
from .servicestack import parse_date as _date
from .snr2u import DOOR, JSON_TYPE, _formats_of, authorize, render_result
from .snr2u_fields import INT_MAX
from .snr2u_parse import _Reader

router = APIRouter(tags=["snr2u"])


# -- reading and listing refund notes (issue 13) -----------------------------------------------------
# ServiceStack style: GET /CustomerRefundNotes/{AcCusRefundNoteMID} answers {CustomerRefundNote,
# ResponseStatus} as the create answer does; GET /CustomerRefundNotes is an AutoQuery-style list
# answering {Offset, Total, Results: [CustomerRefundNote...], Meta, ResponseStatus}. Only refund
# notes made through this door are found (their AcCusRefundNoteMID is the refund's reference).

READ_PERMISSION = "refund:read"
LIST_MAX_TAKE = 100
# AutoQuery's implicit conventions this list understands, per field: exact match, and for
# DocumentDate the range forms (From/OnOrAfter/>= , To/OnOrBefore/<=, GreaterThan/After, LessThan/Before).
_LIST_FIELDS = {"accusinvoicemid": "AcCusInvoiceMID", "accustomerid": "AcCustomerID", "aclocationid": "AcLocationID"}
_DATE_OPS = {"from": ">=", "onorafter": ">=", "greaterthanorequalto": ">=",
             "to": "<=", "onorbefore": "<=", "lessthanorequalto": "<=",
             "greaterthan": ">", "after": ">", "lessthan": "<", "before": "<"}
# every DocumentDate parameter (lower case) -> its operator: a suffix (DocumentDateFrom, DocumentDate< on or
# before) or a prefix (>DocumentDate on or after, <DocumentDate, FromDocumentDate)
_DATE_PARAMS = {**{f"documentdate{word}": op for word, op in {"": "=", ">": ">", "<": "<=", **_DATE_OPS}.items()},
                **{f"{word}documentdate": op for word, op in {">": ">=", "<": "<", **_DATE_OPS}.items()}}
_PAGING = ("skip", "take", "orderby", "orderbydesc", "format", "jsconfig", "include", "fields", "meta")
_ORDERABLE = {name.lower(): name for name in queries.ORDERABLE}


_FORMAT_PARAMETER = {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "jsv"]}}
_READ_DOC = {"parameters": [
    {"name": "AcCusRefundNoteMID", "in": "path", "required": True,
     "schema": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": "\\S"}}, _FORMAT_PARAMETER]}
_LIST_DOC = {"parameters": [
    {"name": "Skip", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}},
    {"name": "Take", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX_TAKE}},
    {"name": "OrderBy", "in": "query", "schema": {"type": "string", "enum": list(_ORDERABLE.values())}},
    {"name": "OrderByDesc", "in": "query", "schema": {"type": "string", "enum": list(_ORDERABLE.values())}},
    *({"name": name, "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "\\S"}}
      for name in ("AcCusInvoiceMID", "AcCustomerID", "AcLocationID")),
    *({"name": name, "in": "query", "schema": {"type": "string", "format": "date"}}
      for name in ("DocumentDate", "DocumentDateFrom", "DocumentDateTo", "DocumentDateGreaterThan",
                   "DocumentDateLessThan")),
    _FORMAT_PARAMETER]}


@router.get("/CustomerRefundNotes/{AcCusRefundNoteMID}", responses=R.SNR2U_RESPONSES, openapi_extra=_READ_DOC,
            summary="SnR2U: read one customer refund note by AcCusRefundNoteMID (JSON or JSV)")
async def read_refund_note(request: Request, AcCusRefundNoteMID: str):  # noqa: N803 (the document's name)
    return await _answer_read(request, lambda principal: _read_one(request.app, principal, AcCusRefundNoteMID))


@router.get("/CustomerRefundNotes", responses=R.SNR2U_LIST_RESPONSES, openapi_extra=_LIST_DOC,
            summary="SnR2U: list customer refund notes, AutoQuery style (Skip, Take, OrderBy, filters)")
async def list_refund_notes(request: Request):
    return await _answer_read(request, lambda principal: _read_page(request.app, principal, request.query_params))


async def _answer_read(request: Request, answer) -> HttpResponse:
    """A read route: the credential first, then the format, then ``answer(principal)`` (the body);
    in the format and casing asked for, errors as ServiceStack's ``ResponseStatus`` (the pipeline's)."""
    async def work(call: pipeline.Call) -> Response:
        principal = await common.call(authorize, request, READ_PERMISSION, READ_PERMISSION)
        refused = _formats_of(call)[2]
        if refused is not None:
            raise refused
        return Response(200, JSON_TYPE, dumps(await common.call(answer, principal)))

    return await pipeline.run_read(DOOR, request, work)


def _read_one(app, principal: Principal, number: str) -> dict:
    """The refund note ``number`` as the create answer showed it, with its ``State`` (posted or voided)."""
    if not number.strip() or len(number) > 20 or "\x00" in number:
        raise Invalid(Violation("AcCusRefundNoteMID", "validation_error",
                                "{field_name} must be a non-empty string of at most {max} characters",
                                {"field_name": "AcCusRefundNoteMID", "max": 20}))
    notes, _ = _page(app, principal.tenant_id, {"mid": number}, 0, 1, None)
    if not notes:
        raise RefundError(Violation("AcCusRefundNoteMID", "not_found", "there is no refund note {value}",
                                    {"value": number}))
    body = render_result(*notes[0])
    body["ResponseStatus"]["Meta"]["State"] = notes[0][0].state
    return body


def _read_page(app, principal: Principal, query) -> dict:
    """AutoQuery's ``QueryResponse`` for the query string ``query``."""
    filters, skip, take, order = _list_query(query)
    notes, total = _page(app, principal.tenant_id, filters, skip, take, order)
    return {"Offset": skip, "Total": total, "Results": [render_result(*note)["CustomerRefundNote"] for note in notes],
            "Meta": {}, "ResponseStatus": None}


def _list_query(query) -> tuple[dict, int, int, tuple[str, bool] | None]:
    """AutoQuery's query string: ``Skip``, ``Take`` (at most 100), ``OrderBy``/``OrderByDesc``,
    and filters by field name (case-insensitive, as ServiceStack binds them)."""
    reader = _Reader(money.currency("MYR"))
    state = {"filters": {}, "skip": 0, "take": LIST_MAX_TAKE, "order": None}
    for key, value in query.multi_items():
        if "\x00" in value:
            reader.invalid(key, "{field_name} must not contain the NUL character")
        else:
            _list_parameter(reader, state, key, value)
    if reader.bad:
        raise Invalid(reader.bad)
    return state["filters"], state["skip"], state["take"], state["order"]


def _list_parameter(reader: "_Reader", state: dict, key: str, value: str) -> None:
    """One parameter of the query string into ``state`` (filters, skip, take, order), or its refusal."""
    low = key.lower()
    if low in ("skip", "take"):
        if not value.isascii() or not value.isdigit() or (low == "take" and not 1 <= int(value) <= LIST_MAX_TAKE) \
                or int(value) > INT_MAX:
            reader.invalid(key, "{field_name} must be a whole number from {low} to {high}",
                           low=0 if low == "skip" else 1, high=INT_MAX if low == "skip" else LIST_MAX_TAKE)
        else:
            state[low] = int(value)
    elif low in ("orderby", "orderbydesc"):
        name = value.strip().lstrip("-")
        if name.lower() not in _ORDERABLE:
            reader.invalid(key, "{field_name} must be one of {choices}", choices=", ".join(_ORDERABLE.values()))
        else:
            state["order"] = (_ORDERABLE[name.lower()], low == "orderbydesc" or value.strip().startswith("-"))
    elif low in _PAGING:
        return  # format is read by _formats; Include=Total and Fields change nothing here
    elif low in _LIST_FIELDS:
        if not value.strip() or len(value) > 40:
            reader.invalid(key, "{field_name} must be a non-empty string of at most {max} characters", max=40)
        else:
            state["filters"][_LIST_FIELDS[low]] = value
    elif low in _DATE_PARAMS:
        day = _date(value)
        if day is None:
            reader.invalid(key, "{field_name} must be a date such as 2026-06-15")
        else:
            state["filters"].setdefault("dates", []).append((_DATE_PARAMS[low], day))
    else:
        reader.invalid(key, "{field_name} is not a parameter of this request")


def _page(app, tenant_id: int, filters: dict, skip: int, take: int, order) -> tuple[list[tuple], int]:
    """The refund notes matching ``filters`` (each its result and its customer's name), this tenant's
    only, oldest first unless ``order`` says otherwise; and how many match in all."""
    from ...service import views as V

    codes = {name: value for name, value in filters.items() if name not in ("mid", "dates")}
    with app.state.refunds.uow(tenant_id, write=False) as uow:
        rows, total = queries.refund_notes(uow.store, number=filters.get("mid"), codes=codes,
                                           dates=filters.get("dates", ()), skip=skip, take=take, order=order)
        reads = RefundReads(uow.store)
        results = [V.refund_result(uow.store, row) for row in rows]
        return [(result, reads.customer_name(result.customer)) for result in results], total
