"""The five seed dialects: each turns its request into the same ``IssueRefund`` command and renders
the result or error in its own document's shape. No business rule lives here.

| module | door |
|---|---|
| ``internom`` | ``POST /api/internom/refund/sale`` (JSON, bearer token) |
| ``vodo`` | ``POST /api/v4/credit_note/pos/{invoice_id}`` (multipart, Vodo headers); ``GET`` lists the invoice's credit notes; its field table in ``vodo_form``, its answers in ``vodo_render`` |
| ``crmcom`` | ``POST {base}/authentication/token``, ``{base}/refunds/create``, ``GET {base}/refunds/show`` |
| ``beansbooks`` | ``POST /api/customer/sale/refund`` (JSON, credentials in the body) |
| ``crmcom_params``, ``crmcom_answers``, ``crmcom_openapi``, ``beansbooks_params``, ``beansbooks_answers``, ``beansbooks_openapi`` | a door's parameters, answers and OpenAPI text, beside its routes (issue 10) |
| ``snr2u`` | ``POST /CustomerRefundNotes/simple`` (JSON and ServiceStack JSV); ``GET /CustomerRefundNotes[/{mid}]`` |
"""

from __future__ import annotations

import importlib

DOORS = ("internom", "vodo", "crmcom", "beansbooks", "snr2u", "snr2u_read")  # modules with a router


def routers():
    for door in DOORS:
        yield importlib.import_module(f"{__name__}.{door}").router
