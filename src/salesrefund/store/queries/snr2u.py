"""SnR2U's refund notes (issue 13): the refunds made through the door, filtered and paged AutoQuery
style. Every statement is scoped by the store's tenant; what the door passes is plain data."""

from __future__ import annotations

import operator
from datetime import date

from sqlalchemy import and_, func, select

from .. import tables as t
from ..repository import TenantStore

CHANNEL = "snr2u"
_R = t.refunds.c
ORDERABLE = {"DocumentDate": _R.document_date, "AcCusRefundNoteMID": _R.reference}
DATE_OPERATORS = {"=": operator.eq, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
# filter name -> (the table its code names, the code's column, the refund's column)
_BY_CODE = {"AcCusInvoiceMID": (t.invoices, "number", "invoice_id"),
            "AcCustomerID": (t.customers, "code", "customer_id"),
            "AcLocationID": (t.locations, "code", "location_id")}


def _matching(store: TenantStore, number: str | None, codes: dict[str, str], dates: list[tuple[str, date]]):
    where = [_R.tenant_id == store.tenant_id, _R.channel == CHANNEL, _R.kind == "refund"]
    if number is not None:
        where.append(_R.reference == number)
    for name, code in codes.items():
        table, column, refers = _BY_CODE[name]
        where.append(_R[refers].in_(select(table.c.id).where(table.c.tenant_id == store.tenant_id,
                                                              table.c[column] == code)))
    where += [DATE_OPERATORS[op](_R.document_date, day) for op, day in dates]
    return and_(*where)


def refund_notes(store: TenantStore, *, number: str | None = None, codes: dict[str, str] | None = None,
                 dates: list[tuple[str, date]] = (), skip: int = 0, take: int = 100,
                 order: tuple[str, bool] | None = None) -> tuple[list, int]:
    """(the page of refund rows, oldest first unless ``order`` = (field, descending) says otherwise;
    the number of every match). ``number`` is an AcCusRefundNoteMID, ``codes`` filters by the
    invoice, customer or location code, ``dates`` by (operator, date) on the document date."""
    where = _matching(store, number, codes or {}, list(dates))
    column = ORDERABLE[order[0]] if order else _R.id
    ordering = [column.desc() if order and order[1] else column.asc(), _R.id.asc()]
    rows = store.conn.execute(select(t.refunds).where(where).order_by(*ordering).offset(skip).limit(take))
    total = store.conn.execute(select(func.count()).select_from(t.refunds).where(where)).scalar()
    return list(rows.mappings().all()), int(total)
