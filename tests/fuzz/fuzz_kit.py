"""Helpers shared by the fuzz tests (plain functions, no fixtures)."""

from __future__ import annotations

import collections

INV1_LINES = [{"product": "BOOK", "quantity": "3", "unit_price": "10.00", "tax_rate": "15"},
              {"product": "MUG", "quantity": "2", "unit_price": "4.99", "tax_rate": "15"},
              {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]


class Stats:
    """Generated requests per target and the statuses they got (printed at the end of the run)."""

    def __init__(self):
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

    def record(self, target: str, statuses) -> None:
        self.statuses[target].update(statuses)

    def summary(self) -> str:
        total = sum(sum(counter.values()) for counter in self.statuses.values())
        return f"{len(self.statuses)} targets, {total} generated requests"

    def lines(self) -> list[str]:
        return [f"{sum(counter.values()):6d}  {target}  {dict(sorted(counter.items()))}"
                for target, counter in sorted(self.statuses.items())]


STATS = Stats()


def seed_books(client, headers: dict) -> dict:
    """In the tenant of ``headers``: what the ``books`` fixture builds (customer C1, products BOOK,
    MUG, WRAP, invoice INV-1 of 47.98 paid by card), 10 BOOKs received, one posted refund, one draft
    and May 2026 closed (today is 2026-06-15). Returns the refunds' ids {posted, draft}."""

    def post(path: str, body: dict, status: int = 201) -> dict:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == status, response.text
        return response.json()

    post("/v1/customers", {"code": "C1", "name": "Customer One", "tax_number": "TX1"})
    for code, tracked, cost in (("BOOK", True, "6.00"), ("MUG", True, "2.00"), ("WRAP", False, "0")):
        post("/v1/products", {"code": code, "name": code.title(), "stock_tracked": tracked, "cost": cost,
                              "barcodes": [f"BC-{code}"]})
    post("/v1/stock/receipts", {"product": "BOOK", "quantity": "10"})
    post("/v1/invoices", {"number": "INV-1", "customer": "C1", "date": "2026-06-01", "lines": INV1_LINES,
                          "payments": [{"method": "card", "amount": "47.98"}]})
    posted = post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    draft = post("/v1/refunds", {"invoice": "INV-1", "state": "draft", "lines": [{"line": 2, "quantity": "1"}]})
    post("/v1/periods/close", {"through": "2026-05-31"}, 200)
    return {"posted": posted["id"], "draft": draft["id"]}


# -- the database as a rejected request must leave it --------------------------------------------------

# Tables a rejected request may legitimately touch: stored responses of rejections (R17), a login's
# sliding expiry, rate-limit counters, credentials. Everything else is business state.
_NOT_BUSINESS = {"idempotency_keys", "door_sessions", "credentials", "door_credentials", "rate_windows", "tenants"}


def db_state(engine, tenant_id: int) -> dict:
    """Every business row of the tenant (and its own ``tenants`` row), for before/after comparisons."""
    from sqlalchemy import select

    from salesrefund.store import tables as t

    state = {}
    with engine.connect() as conn:
        for name, table in sorted(t.metadata.tables.items()):
            if name in _NOT_BUSINESS or "tenant_id" not in table.c:
                continue
            order = list(table.primary_key.columns)
            rows = conn.execute(select(table).where(table.c.tenant_id == tenant_id).order_by(*order)).all()
            state[name] = [tuple(row) for row in rows]
        state["tenants"] = [tuple(conn.execute(select(t.tenants).where(t.tenants.c.id == tenant_id)).one())]
        state["door_sessions"] = sorted(conn.execute(select(t.door_sessions.c.token_hash).where(
            t.door_sessions.c.tenant_id == tenant_id)).scalars())
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]
