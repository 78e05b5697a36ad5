"""Issue 9, item 15: a void's stock moves are dated like its reversing entry (the void's own day in
the tenant's time zone), never at the refund's date, which may lie in a period closed since."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from native_kit import ok, refund
from salesrefund.store import tables as t


def test_a_voids_stock_moves_are_dated_like_its_entry(books, clock, engine):
    api = books["api"]
    made = refund(api, [{"line": 1, "quantity": "1"}], posting_date="2026-06-05")
    assert made["posting_date"] == "2026-06-05"
    clock.set(date(2026, 6, 20))
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    voided = ok(api.post(f"/v1/refunds/{made['id']}/void"))
    assert voided["state"] == "voided"
    journal = ok(api.get(f"/v1/refunds/{made['id']}/journal"))["items"]
    assert [entry["date"] for entry in journal] == ["2026-06-05", "2026-06-20"]
    with engine.connect() as conn:
        refund_id = conn.execute(select(t.refunds.c.id).where(t.refunds.c.public_id == made["id"])).scalar()
        moves = conn.execute(select(t.stock_moves.c.source_type, t.stock_moves.c.quantity, t.stock_moves.c.date)
                             .where(t.stock_moves.c.source_id == refund_id,
                                    t.stock_moves.c.source_type.in_(("refund", "void")))
                             .order_by(t.stock_moves.c.id)).all()
    assert [(kind, quantity, str(day)) for kind, quantity, day in moves] == [
        ("refund", 10_000, "2026-06-05"), ("void", -10_000, "2026-06-20")]
