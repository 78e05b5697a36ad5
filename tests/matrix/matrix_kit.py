"""Shared pieces of the matrix tests (issue 4, items 7-9): isolation, permissions, mass assignment.

* ``routes_of(app)``: every (method, path) the app serves, read from ``app.routes`` (included
  routers flattened), so each test module can prove its table covers every route: a new endpoint
  that nobody added to the tables fails ``test_*_table_covers_every_route``.
* ``snapshot(engine, tenant_ids)``: the row count of every table and every row of the given
  tenants, to prove a refused request wrote nothing.
* ``build_side(...)``: one side (A or B) of the world: a native tenant and one tenant per door,
  each built with the same builders (the native API, and each door's own seed under a unique
  name), plus a few objects whose codes carry the side's tag, so that "B's id" really names
  nothing in A.
* leak checks: ``markers`` (strings only B has), ``assert_no_leak`` and ``assert_same_as_missing``
  (B's id is answered exactly like an id that exists nowhere).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from sqlalchemy import bindparam, func, select, text, update

from salesrefund.domain import money
from salesrefund.domain.commands import InvoiceLineRequest, PaymentRequest, RecordInvoice
from salesrefund.http.dialects import jsv
from salesrefund.seeds import beansbooks as beans_seed
from salesrefund.seeds import crmcom as crm_seed
from salesrefund.seeds import internom as internom_seed
from salesrefund.seeds import snr2u as snr2u_seed
from salesrefund.seeds import vodo as vodo_seed
from salesrefund.service.books import Books
from salesrefund.service.doors import create_door_credential
from salesrefund.service.tenants import PERMISSIONS, create_tenant, create_token, hash_token, tenant_id_by_name
from salesrefund.service.uow import Clock
from salesrefund.store import tables as t

FIXED_NOW = datetime(2026, 6, 15, 10, 0, tzinfo=timezone.utc)
TODAY = "2026-06-15"  # FIXED_NOW's date in every seed tenant's time zone
PERMISSION_LIST = tuple(PERMISSIONS)
PROBLEM = "application/problem+json"

INTERNOM = "/api/internom/refund/sale"
VODO = "/api/v4/credit_note/pos"
CRM_LOGIN = "/crmcom/v4/authentication/token"
CRM_CREATE = "/crmcom/v4/refunds/create"
CRM_SHOW = "/crmcom/v4/refunds/show"
BEANS = "/api/customer/sale/refund"
BEANS_ANY_CASE = "/API/Customer/Sale/REFUND"
BEANS_LOOKUP = "/api/customer/sale/lookup"  # issue 13: read and cancel a refund made through the door
BEANS_CANCEL = "/api/customer/sale/cancel"
SNR2U = "/CustomerRefundNotes/simple"


class FixedClock(Clock):
    def __init__(self, now: datetime = FIXED_NOW):
        self.current = now

    def now(self) -> datetime:
        return self.current


def tag_for(side: str) -> str:
    return f"{side}{uuid.uuid4().hex[:7]}"


# -- requests --------------------------------------------------------------------------------------

_NO_JSON = object()


@dataclass
class Req:
    """One HTTP request, sendable with any credentials (``auth`` headers are added at send time)."""

    method: str
    path: str
    json: object = _NO_JSON
    params: dict | None = None
    headers: dict = field(default_factory=dict)
    content: str | bytes | None = None
    files: list | None = None

    def send(self, client, auth: dict | None = None):
        headers = {**self.headers, **(auth or {})}
        kwargs: dict = {"headers": headers}
        if self.params:
            kwargs["params"] = self.params
        if self.json is not _NO_JSON:
            kwargs["json"] = self.json
        elif self.content is not None:
            kwargs["content"] = self.content
        elif self.files is not None:
            kwargs["files"] = self.files
        return client.request(self.method, self.path, **kwargs)

    def text(self) -> str:
        """Everything the request itself says (a value it sent is no leak when echoed)."""
        parts = [self.path, json.dumps(self.params or {}), json.dumps(self.headers)]
        if self.json is not _NO_JSON:
            parts.append(json.dumps(self.json, default=str))
        if self.content is not None:
            parts.append(self.content if isinstance(self.content, str) else self.content.decode())
        if self.files:
            parts.extend(f"{k}={v[1]}" for k, v in self.files)
        return "\n".join(parts)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """A native API client for one token."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def send(self, req: Req):
        return req.send(self.client, bearer(self.token))

    def get(self, path: str, **params):
        return self.send(Req("GET", path, params=params or None))

    def post(self, path: str, body=None, *, key: str | None = None):
        return self.send(Req("POST", path, json=body, headers={"Idempotency-Key": key} if key else {}))

    def patch(self, path: str, body):
        return self.send(Req("PATCH", path, json=body))

    def delete(self, path: str):
        return self.send(Req("DELETE", path))


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.request.method, str(response.request.url), response.text)
    return response.json() if response.content else {}


def problem(response, status: int, code: str, field: str | None = None) -> dict:
    """RFC 9457 problem+json of the native API, first error ``code`` (at ``field``)."""
    assert response.status_code == status, (str(response.request.url), response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["errors"] and body["errors"][0]["code"] == code, body
    if field is not None:
        assert body["errors"][0]["field"] == field, body
    return body


# -- the routes ------------------------------------------------------------------------------------

# Routes anyone may call: the health check and the API documents. Nothing tenant-specific.
PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/openapi.json"), ("HEAD", "/openapi.json"), ("GET", "/docs"),
                 ("HEAD", "/docs"), ("GET", "/docs/oauth2-redirect"), ("HEAD", "/docs/oauth2-redirect"),
                 ("GET", "/redoc"), ("HEAD", "/redoc"), ("GET", "/metrics")}  # Prometheus scrapes without a token

_CONVERTER = re.compile(r"\{(\w+):[^}]+\}")


def normal(path: str) -> str:
    """``/v1/customers/{code:path}`` -> ``/v1/customers/{code}`` (as the OpenAPI document writes it)."""
    return _CONVERTER.sub(r"{\1}", path)


def routes_of(app) -> set[tuple[str, str]]:
    """Every (method, path) of ``app.routes``, included routers flattened (FastAPI keeps them as
    ``_IncludedRouter`` objects in recent versions, as plain routes in older ones)."""
    found: set[tuple[str, str]] = set()

    def walk(routes, prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif getattr(route, "methods", None):
                found.update((method, normal(prefix + route.path)) for method in route.methods)
            elif getattr(route, "routes", None) is not None:  # a Mount
                walk(route.routes, prefix + getattr(route, "path", ""))
            else:
                raise AssertionError(f"a route of unknown kind: {route!r}")

    walk(app.routes, "")
    return found


def openapi_routes(app) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    return {(m.upper(), path) for path, item in app.openapi()["paths"].items() for m in item if m in methods}


def assert_table_covers_routes(app, table) -> None:
    """``table`` (keys: (method, normalised path)) names every non-public route of the app and
    nothing else; every route of the OpenAPI document is one of the app's routes."""
    routes = routes_of(app)
    assert openapi_routes(app) <= routes, openapi_routes(app) - routes
    # the back office page (/app) has its own session sign-in and CSRF checks: tests/web covers each route
    served = {route for route in routes - PUBLIC_ROUTES if not route[1].startswith("/app")}
    keys = set(table)
    assert not served - keys, f"routes no test covers: {sorted(served - keys)}"
    assert not keys - served, f"table rows for routes that do not exist: {sorted(keys - served)}"


# -- what the database holds -------------------------------------------------------------------------

# The per-credential request counter (issue 4's rate limit) counts every authenticated request by
# design; it holds no business data and is not part of "wrote nothing".
COUNTERS = {"rate_windows"}
# A CRM.COM session's sliding expiry moves on every use, whatever the request then does.
VOLATILE = {"door_sessions": {"last_used_at"}}


_SQL: dict = {}


def _snapshot_sql(skip: tuple[str, ...]):
    """(one statement counting every table, [(table, statement reading a tenant's rows)]), built once."""
    if skip not in _SQL:
        tables = [table for table in t.metadata.sorted_tables if table.name not in COUNTERS and table.name not in skip]
        counts = text("SELECT " + ", ".join(f"(SELECT count(*) FROM {table.name})" for table in tables))
        reads = []
        for table in tables:
            column = "id" if table is t.tenants else "tenant_id" if "tenant_id" in table.c else None
            if column is None:
                continue
            columns = ", ".join(c.name for c in table.c if c.name not in VOLATILE.get(table.name, ()))
            reads.append((table.name, text(f"SELECT {columns} FROM {table.name} WHERE {column} IN :ids")
                          .bindparams(bindparam("ids", expanding=True))))
        _SQL[skip] = ([table.name for table in tables], counts, reads)
    return _SQL[skip]


def snapshot(engine, tenant_ids=(), *, skip: tuple[str, ...] = ()) -> dict:
    """Row counts of every table, and every row of ``tenant_ids`` (as text, sorted)."""
    names, counts, reads = _snapshot_sql(tuple(skip))
    ids = list(tenant_ids)
    out: dict = {"counts": {}, "rows": {}}
    with engine.connect() as conn:
        out["counts"] = dict(zip(names, conn.execute(counts).one()))
        for name, statement in reads if ids else ():
            rows = conn.execute(statement, {"ids": ids}).all()
            out["rows"][name] = sorted(tuple("" if v is None else str(v) for v in row) for row in rows)
    return out


def assert_unchanged(before: dict, after: dict, what: str = "") -> None:
    if before == after:
        return
    changed = [name for name in before["counts"] if before["counts"][name] != after["counts"].get(name)]
    changed += [name for name in before["rows"] if before["rows"][name] != after["rows"].get(name)]
    raise AssertionError(f"{what}: the database changed in {sorted(set(changed))}")


def db_rows(engine, table, tenant_id: int, *columns):
    with engine.connect() as conn:
        return conn.execute(select(*columns).where(table.c.tenant_id == tenant_id)).all()


def credential_of_door(engine, door: str, login: str) -> int:
    d = t.door_credentials.c
    with engine.connect() as conn:
        return conn.execute(select(d.credential_id).where(d.door == door, d.login == login)).scalar_one()


def shown_credential(engine, credential_id: int) -> int:
    """A credential's id as its tenant sees it (audit, door credentials: issue 10)."""
    from salesrefund.service.views import public_number
    with engine.connect() as conn:
        tenant_id = conn.execute(select(t.credentials.c.tenant_id).where(t.credentials.c.id == credential_id)).scalar_one()
    return public_number("credential", tenant_id, credential_id)


def credential_of_token(engine, token: str) -> int:
    c = t.credentials.c
    with engine.connect() as conn:
        return conn.execute(select(c.id).where(c.token_hash == hash_token(token))).scalar_one()


def expire_credential(engine, credential_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(t.credentials).where(t.credentials.c.id == credential_id)
                     .values(expires_at=datetime(2026, 6, 1, tzinfo=timezone.utc)))


def customer_db_id(engine, tenant_id: int, code: str) -> int:
    c = t.customers.c
    with engine.connect() as conn:
        return conn.execute(select(c.id).where(c.tenant_id == tenant_id, c.code == code)).scalar_one()


# -- leaks -----------------------------------------------------------------------------------------

def strings_of(value) -> set[str]:
    """Every string and number in a decoded body (4 characters or more: shorter ones say nothing)."""
    found: set[str] = set()

    def walk(v) -> None:
        if isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)
        elif isinstance(v, (str, int, Decimal)) and not isinstance(v, bool):
            text = str(v)
            if len(text) >= 4:
                found.add(text)

    walk(value)
    return found


def markers(b_values, a_values) -> set[str]:
    """Strings of B's data that A's data does not have: none may reach a response to A."""
    return strings_of(b_values) - strings_of(a_values)


def _occurs(marker: str, text: str) -> bool:
    """``marker`` as a whole token of ``text`` (``1.32`` is not in ``11.32``)."""
    return re.search(r"(?<![0-9A-Za-z.])" + re.escape(marker) + r"(?![0-9A-Za-z])", text) is not None


def assert_no_leak(response, b_only: set[str], req: Req | None = None) -> None:
    sent = req.text() if req is not None else ""
    body = response.text
    leaked = sorted(m for m in b_only if _occurs(m, body) and not _occurs(m, sent))
    assert not leaked, f"{response.request.method} {response.request.url} leaks {leaked[:5]}: {body[:400]}"


def _normalised(response, ids: dict[str, str]):
    text = response.text
    for value, placeholder in sorted(ids.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(value, placeholder)
    try:
        body = json.loads(text)
    except ValueError:
        return text

    def scrub(v):
        if isinstance(v, dict):
            return {k: scrub(x) for k, x in v.items() if k != "request_id"}
        if isinstance(v, list):
            return [scrub(x) for x in v]
        return v

    return scrub(body)


def assert_same_as_missing(foreign, missing, foreign_ids: list[str], missing_ids: list[str]) -> None:
    """B's ids are answered exactly as ids that exist nowhere (status, content type and body, the
    ids themselves aside)."""
    assert foreign.status_code == missing.status_code, (foreign.text, missing.text)
    assert foreign.headers.get("content-type") == missing.headers.get("content-type")
    fa = _normalised(foreign, {v: f"<ID{i}>" for i, v in enumerate(foreign_ids)})
    ma = _normalised(missing, {v: f"<ID{i}>" for i, v in enumerate(missing_ids)})
    assert fa == ma, f"B's id is answered differently from a missing one:\n{fa}\n{ma}"


def missing_id(prefix: str = "ZZ") -> str:
    return f"{prefix}-nowhere-{uuid.uuid4().hex[:8]}"


# -- the native books of one tenant ------------------------------------------------------------------

def _gross(quantity: str, price: str, rate: str) -> Decimal:
    net = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    tax = (net * Decimal(rate) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return net + tax


def build_native(client, engine, clock, side: str, *, prices: tuple[str, str], closed_through: str):
    """A EUR tenant through the native API: customers (one with the side's tag, one ``SHARED``
    code both sides have), products, a location, stock, three invoices (card-paid, unpaid, and a
    500-unit "cap" invoice for tests that refund many times), refunds in every state, objects
    ("D-" codes) another tenant will create under the same codes, and closed periods."""
    tag = tag_for(side)
    tenant = create_tenant(engine, f"mx-native-{tag}", currency="EUR", country="DE", clock=clock)
    api = Api(client, tenant["token"])
    n = SimpleNamespace(tag=tag, tenant=tenant, id=tenant["id"], name=tenant["tenant"], api=api,
                        token=tenant["token"], customer=f"C-{tag}", book=f"BOOK-{tag}", mug=f"MUG-{tag}",
                        wrap=f"WRAP-{tag}", location=f"WH-{tag}", barcode=f"BC-{tag}", invoice=f"INV-{tag}-1",
                        unpaid=f"INV-{tag}-2", cap=f"CAP-{tag}", closed_through=closed_through)
    ok(api.post("/v1/customers", {"code": n.customer, "name": f"Customer {tag}", "tax_number": f"TX-{tag}",
                                  "email": f"{tag}@mx.example"}), 201)
    ok(api.post("/v1/customers", {"code": "SHARED", "name": f"Shared customer of {tag}"}), 201)
    for code, tracked, cost, barcodes in ((n.book, True, "6.00", [n.barcode]), (n.mug, True, "2.00", []),
                                          (n.wrap, False, "0", [])):
        ok(api.post("/v1/products", {"code": code, "name": f"{code} name", "stock_tracked": tracked, "cost": cost,
                                     "barcodes": barcodes}), 201)
    ok(api.post("/v1/locations", {"code": n.location, "name": f"Warehouse {tag}"}), 201)
    ok(api.post("/v1/stock/receipts", {"product": n.book, "quantity": "10", "location": n.location}), 201)
    ok(api.post("/v1/stock/receipts", {"product": n.mug, "quantity": "10"}), 201)
    p1, p2 = prices
    total = _gross("3", p1, "15") + _gross("2", p2, "15") + Decimal("2.00")
    ok(api.post("/v1/invoices", {
        "number": n.invoice, "customer": n.customer, "date": "2026-06-01", "location": n.location,
        "lines": [{"product": n.book, "quantity": "3", "unit_price": p1, "tax_rate": "15"},
                  {"product": n.mug, "quantity": "2", "unit_price": p2, "tax_rate": "15"},
                  {"product": n.wrap, "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}],
        "payments": [{"method": "card", "amount": str(total)}]}), 201)
    ok(api.post("/v1/invoices", {"number": n.unpaid, "customer": n.customer, "date": "2026-06-02",
                                 "lines": [{"product": n.book, "quantity": "2", "unit_price": p1, "tax_rate": "15"}]}),
       201)
    ok(api.post("/v1/invoices", {"number": n.cap, "customer": n.customer, "date": "2026-06-03",
                                 "lines": [{"product": n.wrap, "quantity": "500", "unit_price": "1.00", "tax_rate": "0"}],
                                 "payments": [{"method": "cash", "amount": "500.00"}]}), 201)
    n.posted = ok(api.post("/v1/refunds", {"invoice": n.invoice, "reason": f"Reason {tag}",
                                           "lines": [{"line": 1, "quantity": "1"}]}), 201)
    n.credit = ok(api.post("/v1/refunds", {"invoice": n.unpaid, "lines": [{"line": 1, "quantity": "1"}]}), 201)
    n.draft = ok(api.post("/v1/refunds", {"invoice": n.invoice, "state": "draft",
                                          "lines": [{"line": 2, "quantity": "1"}]}), 201)
    voided = ok(api.post("/v1/refunds", {"invoice": n.invoice, "lines": [{"line": 3}]}), 201)
    n.voided = ok(api.post(f"/v1/refunds/{voided['id']}/void", {"reason": f"Void {tag}"}))
    # objects the other tenant creates under the same codes (a code in use elsewhere is no conflict)
    n.dup = SimpleNamespace(customer=f"D-{tag}", product=f"DP-{tag}", barcode=f"DBC-{tag}", location=f"DL-{tag}",
                            invoice=f"DINV-{tag}")
    ok(api.post("/v1/customers", {"code": n.dup.customer, "name": f"Dup customer {tag}"}), 201)
    ok(api.post("/v1/products", {"code": n.dup.product, "name": f"Dup product {tag}",
                                 "barcodes": [n.dup.barcode]}), 201)
    ok(api.post("/v1/locations", {"code": n.dup.location, "name": f"Dup location {tag}"}), 201)
    ok(api.post("/v1/invoices", {"number": n.dup.invoice, "customer": n.dup.customer, "date": "2026-06-04",
                                 "lines": [{"product": n.wrap, "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}]}),
       201)
    ok(api.post("/v1/periods/close", {"through": closed_through}))
    n.refund_ids = [n.posted["id"], n.credit["id"], n.draft["id"], n.voided["id"]]
    return n


def native_views(n) -> dict:
    """What tenant ``n`` shows of itself: every object its native API can read."""
    api = n.api
    return {
        "customers": [ok(api.get(f"/v1/customers/{c}")) for c in (n.customer, "SHARED", n.dup.customer)],
        "products": [ok(api.get(f"/v1/products/{p}")) for p in (n.book, n.mug, n.wrap, n.dup.product)],
        "invoices": ok(api.get("/v1/invoices", limit=200)),
        "refunds": ok(api.get("/v1/refunds", limit=200)),
        "journal": ok(api.get("/v1/journal", limit=200)),
        "trial_balance": ok(api.get("/v1/ledger/trial-balance")),
        "stock": ok(api.get("/v1/stock")),
        "periods": ok(api.get("/v1/periods")),
        "audits": [ok(api.get(f"/v1/refunds/{r}/audit")) for r in n.refund_ids],
        "journals": [ok(api.get(f"/v1/refunds/{r}/journal")) for r in n.refund_ids],
    }


# -- the doors' tenants -------------------------------------------------------------------------------

def internom_body(reference: str, reference_id: str | None = None, *, tax: str = internom_seed.TAX_NUMBER,
                  product: str = internom_seed.BARCODE, branch: str = internom_seed.BRANCH, **extra) -> dict:
    body = {"branch_name": branch, "reference": reference, "reference_id": reference_id or f"id-{reference}",
            "customer_id": tax, "order_line": [{"product_id": product, "quantity": 1, "price_unit": 14900}]}
    body.update(extra)
    return body


def internom_req(token: str | None, body, *, raw: str | None = None) -> Req:
    headers = bearer(token) if token is not None else {}
    if raw is not None:
        return Req("POST", INTERNOM, content=raw, headers={"Content-Type": "application/json", **headers})
    return Req("POST", INTERNOM, json=body, headers=headers)


def build_internom(client, engine, clock, side: str):
    tag = tag_for(side)
    name, token = f"mx-internom-{tag}", f"sr_mx_internom_{uuid.uuid4().hex}"
    assert internom_seed.create(engine, clock, name=name, token=token)
    admin = Api(client, token)
    d = SimpleNamespace(tag=tag, name=name, id=tenant_id_by_name(engine, name), token=token, admin=admin,
                        tax=f"ITX-{tag}", branch=f"BR-{tag}", barcode=f"IBC-{tag}", product=f"IP-{tag}")
    ok(admin.post("/v1/customers", {"code": f"IC-{tag}", "name": f"Internom customer {tag}", "tax_number": d.tax}), 201)
    ok(admin.post("/v1/locations", {"code": d.branch, "name": f"Branch {tag}"}), 201)
    ok(admin.post("/v1/products", {"code": d.product, "name": f"Internom product {tag}", "barcodes": [d.barcode]}), 201)
    answer = ok(internom_req(token, internom_body(f"REF-{tag}", tax=d.tax, branch=d.branch,
                                                  product=d.barcode)).send(client))
    d.refund_id = re.search(r"ID: '([^']+)'", answer["data"]["order_ref"]).group(1)
    return d


def vodo_form(*, item_id: str = "", price: str = "10", qty: str = "1", discount: str = "",
              session: str = vodo_seed.SESSION, pos: str = vodo_seed.POS, extra=()) -> list[tuple[str, str]]:
    return [("description", "mx credit note"), ("discount_type", "0"), ("item_id[]", item_id),
            ("item_price[]", price), ("item_qty[]", qty), ("item_discount[]", discount), ("item_desc[]", "mx"),
            ("employee_id[]", ""), ("pos_session_id", session), ("pos_id", pos), *extra]


def vodo_req(headers: dict, invoice: str | None, form, *, path: str | None = None, key: str | None = None) -> Req:
    path = path or (f"{VODO}/{invoice}" if invoice is not None else VODO)
    extra = {"Idempotency-Key": key} if key else {}
    return Req("POST", path, headers={**headers, **extra}, files=[(k, (None, v)) for k, v in form])


def vodo_headers(login: str, secret: str) -> dict:
    return {**vodo_seed.CREDENTIALS, "secure-business-key": login, "userToken": secret, "Accept-Language": "en"}


def vodo_credential(engine, clock, tenant: str, login: str, secret: str, permissions=("refund:create", "refund:read")):
    return create_door_credential(
        engine, tenant, "vodo", login=login, secret=secret, permissions=permissions, clock=clock,
        settings={"apikey": vodo_seed.CREDENTIALS["apikey"], "platform_key": vodo_seed.CREDENTIALS["platform-key"],
                  "vat_rate": "15"})


def build_vodo(client, engine, clock, side: str):
    tag = tag_for(side)
    name, token = f"mx-vodo-{tag}", f"sr_mx_vodo_{uuid.uuid4().hex}"
    login, secret = f"sbk-{tag}", f"ut-{tag}"
    credentials = dict(vodo_seed.CREDENTIALS, **{"secure-business-key": login, "userToken": secret})
    assert vodo_seed.load(engine, clock, name=name, token=token, credentials=credentials)
    tenant_id = tenant_id_by_name(engine, name)
    admin = Api(client, token)
    d = SimpleNamespace(tag=tag, name=name, id=tenant_id, token=token, admin=admin, login=login, secret=secret,
                        headers=vodo_headers(login, secret), invoice=str(700000 + int(uuid.uuid4().hex[:5], 16)),
                        pos=f"P-{tag}", session=f"S-{tag}", product=f"VP-{tag}")
    price = "1234.56" if side == "a" else "2345.67"
    ok(admin.post("/v1/customers", {"code": f"VC-{tag}", "name": f"Vodo customer {tag}", "tax_number": f"VTX-{tag}"}),
       201)
    ok(admin.post("/v1/products", {"code": d.product, "name": f"Vodo product {tag}"}), 201)
    ok(admin.post("/v1/invoices", {"number": d.invoice, "customer": f"VC-{tag}", "date": "2026-06-01",
                                   "location": vodo_seed.LOCATION,
                                   "lines": [{"product": "3025", "quantity": "1", "unit_price": price, "tax_rate": "15"}],
                                   "payments": [{"method": "cash", "amount": price}]}), 201)
    Books(engine, clock).set_till(tenant_id, pos=d.pos, session=d.session, location=vodo_seed.LOCATION)
    answer = ok(vodo_req(d.headers, d.invoice, vodo_form(pos=d.pos, session=d.session)).send(client))
    d.refund_id = answer["data"]["uuid"]
    return d


def crm_login(client, username: str, password: str = crm_seed.PASSWORD, organisation: str = crm_seed.ORGANISATION,
              **extra) -> str:
    body = {"username": username, "password": password, "organisation": organisation, **extra}
    return ok(client.post(CRM_LOGIN, json=body))["data"]["token"]


def crm_body(token, *, account: dict | None = None, amount: str = "1.00", **extra) -> dict:
    body = {"token": token, "accounts_receivable_identifier": account or {"number": crm_seed.ACCOUNT},
            "type_identifier": {"name": "Refund"}, "life_cycle_state": "POSTED", "refund_amount": amount}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def crm_create(body) -> Req:
    return Req("POST", CRM_CREATE, json=body)


def crm_show(token, identifier: str | None, **extra) -> Req:
    params = {"token": token, "refund_identifier": identifier, **extra}
    return Req("GET", CRM_SHOW, params={k: v for k, v in params.items() if v is not None})


def build_crmcom(client, engine, clock, side: str):
    tag = tag_for(side)
    name = f"mx-crm-{tag}"
    tenant = create_tenant(engine, name, clock=clock, **crm_seed.TENANT_OPTIONS)
    username = f"mx-user-{tag}"
    crm_seed.build(engine, clock, tenant["id"], name, username=username)
    admin = Api(client, tenant["token"])
    d = SimpleNamespace(tag=tag, name=name, id=tenant["id"], token=tenant["token"], admin=admin, username=username,
                        account=f"ACR-{tag}", account_name=f"CRM customer {tag}", account_tax=f"CYX-{tag}")
    ok(admin.post("/v1/customers", {"code": d.account, "name": d.account_name, "tax_number": d.account_tax}), 201)
    d.account_id = str(customer_db_id(engine, d.id, d.account))
    d.session = crm_login(client, username)
    amount = "12.34" if side == "a" else "23.45"
    d.payout = ok(crm_create(crm_body(d.session, amount=amount, back_office_code=f"BO-{tag}",
                                      notes=f"Notes {tag}")).send(client))["data"]
    d.main_account_id = d.payout["accounts_receivable"]["id"]
    d.draft = ok(crm_create(crm_body(d.session, life_cycle_state="DRAFT", amount="1.00")).send(client))["data"]
    d.seed_refund = ok(admin.get("/v1/refunds", limit=200))["items"][0]  # the seed's native store-credit refund
    return d


def beans_body(cred, sale: int, **changes) -> dict:
    body = {"auth_uid": cred[0], "auth_key": cred[1], "auth_expiration": beans_seed.AUTH_EXPIRATION, "id": sale,
            "date_created": TODAY, "lines": [{"description": beans_seed.LINES[0][0], "amount": "-49.99", "quantity": 1}],
            "taxes": [{"tax_id": beans_seed.TAX_ID}]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def beans_read_body(cred, refund_sale: int, **changes) -> dict:
    """A lookup or cancel body: the credentials and the refund sale's id (the refund answer's ``data.sale.id``)."""
    return {"auth_uid": cred[0], "auth_key": cred[1], "auth_expiration": beans_seed.AUTH_EXPIRATION,
            "id": refund_sale, **changes}


def beans_req(body, *, path: str = BEANS, raw: str | None = None) -> Req:
    return Req("POST", path, content=raw if raw is not None else json.dumps(body),
               headers={"Content-Type": "application/json"})


def beans_sales(engine, clock, tenant_id: int, numbers, customer: str = beans_seed.CUSTOMER) -> None:
    """More sales like the seed's sale 1 (2 x 49.99 coffee + shipping, tax 8.25 %, on account)."""
    books = Books(engine, clock)
    for number in numbers:
        books.record_invoice(tenant_id, RecordInvoice(
            number=str(number), customer=customer, date=date(2026, 6, 8), currency="USD", prices_include_tax=False,
            lines=tuple(InvoiceLineRequest(quantity=money.parse_quantity(q, "/q"), unit_price=money.parse_price(p, "/p"),
                                           tax_rate=money.parse_rate(beans_seed.TAX_PERCENT, "/r"), description=text)
                        for text, q, p in beans_seed.LINES)))


_beans_uids = iter(range(7_000_000 + int(uuid.uuid4().hex[:4], 16) * 100, 10**9))


def next_beans_uid() -> int:
    return next(_beans_uids)


def build_beans(client, engine, clock, side: str):
    tag = tag_for(side)
    name, token = f"mx-beans-{tag}", f"sr_mx_beans_{uuid.uuid4().hex}"
    uid, key = next_beans_uid(), f"key-{tag}"
    assert beans_seed.create(engine, clock, name=name, token=token, auth_uid=uid, auth_key=key)
    tenant_id = tenant_id_by_name(engine, name)
    admin = Api(client, token)
    d = SimpleNamespace(tag=tag, name=name, id=tenant_id, token=token, admin=admin, cred=(uid, key),
                        sale=600_000 + int(uuid.uuid4().hex[:5], 16), customer=f"BC-{tag}")
    ok(admin.post("/v1/customers", {"code": d.customer, "name": f"Beans customer {tag}", "tax_number": f"BTX-{tag}",
                                    "email": f"beans-{tag}@mx.example"}), 201)
    beans_sales(engine, clock, tenant_id, [d.sale], customer=d.customer)
    answer = ok(beans_req(beans_body(d.cred, d.sale)).send(client))
    assert answer["success"] is True, answer
    d.refund_id = answer["data"]["sale"]["credit_note"]["id"]
    d.refund_sale = answer["data"]["sale"]["id"]
    return d


def snr2u_note(mid: str, *, invoice: str = snr2u_seed.INVOICE, customer: str = snr2u_seed.CUSTOMER,
               location: str = snr2u_seed.LOCATION, stock: str = "ITEM-001", price: str = "12.50",
               method: str = "CASH", header: dict | None = None, detail: dict | None = None,
               payment: dict | None = None, note: dict | None = None, top: dict | None = None) -> dict:
    """A refund note of one unit (JSON values as a JSON client sends them); ``header``,
    ``detail``, ``payment``, ``note`` and ``top`` add fields at each level."""
    total = str(Decimal(price).quantize(Decimal("0.01")))
    return {"CustomerRefundNote": {
        "DocumentHeader": {"AcCusRefundNoteMID": mid, "AcCustomerID": customer, "AcLocationID": location,
                           "DocumentDate": TODAY, "DocumentNetAmount": total, "DocumentCentBalance": "0.00",
                           "DocumentFinalAmount": total, "AcCusInvoiceMID": invoice, "DocumentReason": "Damaged",
                           "EditDate": TODAY, "EInvoiceBuyerIsMalaysian": "Y", **(header or {})},
        "DocumentDetails": [{"AcCusRefundNoteDID": f"{mid}-1", "AcCusRefundNoteMID": mid, "ItemNo": 1,
                             "AcStockID": stock, "AcStockUOMID": snr2u_seed.UOM, "ItemUnitPrice": price,
                             "ItemQuantity": "1", "ItemGrossTotal": total, "ItemDiscountAmount": "0.00",
                             "ItemTotalPrice": total, "ItemRemark1": "", **(detail or {})}],
        "DocumentPaymentDetails": [{"AcCusRefundNoteMID": mid, "ItemNo": 1, "AcBillPaymentMethodID": method,
                                    "ItemRemark1": "", "ItemCurrencyPaymentAmount": total, **(payment or {})}],
        **(note or {})}, **(top or {})}


def snr2u_req(key: str | None, note, *, path: str = SNR2U) -> Req:
    headers = {"Content-Type": "application/json", **(bearer(key) if key is not None else {})}
    return Req("POST", path, content=json.dumps(note), headers=headers)


def snr2u_answer(response) -> dict:
    """The body in its own format (JSV answers decode to strings), with the document's PascalCase
    names (JSON answers come in camelCase, ServiceStack's default, issue 10)."""
    if response.headers["content-type"].startswith(jsv.MEDIA_TYPE):
        return jsv.decode(response.content)
    return _pascal(response.json())


def _pascal(value):
    """camelCase names back to PascalCase; a ``meta`` dictionary's keys are data and stay."""
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {key[:1].upper() + key[1:]: item if key == "meta" else _pascal(item) for key, item in value.items()}


def build_snr2u(client, engine, clock, side: str):
    tag = tag_for(side)
    name, token, key = f"mx-snr2u-{tag}", f"sr_mx_snr2u_{uuid.uuid4().hex}", f"key-mx-{uuid.uuid4().hex}"
    assert snr2u_seed.create(engine, clock, name=name, token=token, api_key=key)
    tenant_id = tenant_id_by_name(engine, name)
    admin = Api(client, token)
    d = SimpleNamespace(tag=tag, name=name, id=tenant_id, token=token, admin=admin, key=key, invoice=f"IV-{tag}",
                        location=f"LOC-{tag}", customer=f"SC-{tag}", stock=f"ITEM-{tag}", method=f"PM-{tag}")
    price = "3.15" if side == "a" else "4.35"
    ok(admin.post("/v1/locations", {"code": d.location, "name": f"SnR2U location {tag}"}), 201)
    ok(admin.post("/v1/customers", {"code": d.customer, "name": f"SnR2U customer {tag}", "tax_number": f"STX-{tag}"}),
       201)
    ok(admin.post("/v1/products", {"code": d.stock, "name": f"SnR2U item {tag}", "unit": snr2u_seed.UOM}), 201)
    Books(engine, clock).create_payment_method(tenant_id, code=d.method, name=f"Method {tag}", kind="cash")
    amount = str(Decimal(price) * 60)
    ok(admin.post("/v1/invoices", {"number": d.invoice, "customer": d.customer, "date": "2026-06-08",
                                   "location": d.location,
                                   "lines": [{"product": d.stock, "quantity": "60", "unit_price": price, "tax_rate": "0"}],
                                   "payments": [{"method": "CASH", "amount": amount}]}), 201)
    d.price = price
    made = snr2u_req(key, snr2u_note(f"RN-{tag}", invoice=d.invoice, customer=d.customer, location=d.location,
                                     stock=d.stock, price=price)).send(client)
    ok(made)
    answer = snr2u_answer(made)
    d.refund_id = answer["ResponseStatus"]["Meta"]["RefundId"]
    return d


def build_side(client, engine, clock, side: str):
    """One side of the world: a native tenant and one tenant per door, built the same way on both
    sides (only the tags, a few prices and the closed period differ)."""
    native = build_native(client, engine, clock, side, prices=("10.00", "4.99") if side == "a" else ("17.31", "8.77"),
                          closed_through="2026-04-30" if side == "a" else "2026-05-10")
    return SimpleNamespace(side=side, native=native, internom=build_internom(client, engine, clock, side),
                           vodo=build_vodo(client, engine, clock, side), crm=build_crmcom(client, engine, clock, side),
                           beans=build_beans(client, engine, clock, side), snr2u=build_snr2u(client, engine, clock, side))


def tenant_ids(side) -> list[int]:
    return [side.native.id, side.internom.id, side.vodo.id, side.crm.id, side.beans.id, side.snr2u.id]


def refund_ids(side) -> list[str]:
    """Every refund (and payout) id of a side, in every tenant of it."""
    return side.native.refund_ids + [side.internom.refund_id, side.vodo.refund_id, side.crm.payout["id"],
                                     side.crm.draft["id"], side.crm.seed_refund["id"], side.beans.refund_id,
                                     side.snr2u.refund_id]


def side_views(side) -> dict:
    """Everything a side's tenants show of themselves (for the markers of B-only values)."""
    views = {"native": native_views(side.native)}
    for name in ("internom", "vodo", "crm", "beans", "snr2u"):
        door = getattr(side, name)
        api = door.admin
        views[name] = {"refunds": ok(api.get("/v1/refunds", limit=200)), "invoices": ok(api.get("/v1/invoices", limit=200)),
                       "journal": ok(api.get("/v1/journal", limit=200)), "stock": ok(api.get("/v1/stock")),
                       "customers": [ok(api.get(f"/v1/customers/{code}")) for code in _door_customers(name, door)]}
    views["crm_payout"] = side.crm.payout
    return views


def _door_customers(name: str, door) -> list[str]:
    return {"internom": lambda: [internom_seed.CUSTOMER, f"IC-{door.tag}"],
            "vodo": lambda: [vodo_seed.CUSTOMER, f"VC-{door.tag}"],
            "crm": lambda: [crm_seed.ACCOUNT, "ACR0000002", door.account],
            "beans": lambda: [beans_seed.CUSTOMER, door.customer],
            "snr2u": lambda: [snr2u_seed.CUSTOMER, door.customer]}[name]()


def token_with(engine, clock, tenant_name: str, *permissions: str, **options) -> dict:
    return create_token(engine, tenant_name, permissions=permissions, clock=clock, name="mx", **options)


def cursor_of(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")
