"""A key reused with each of ten different mutations of its request answers 422
idempotency_key_reused and writes nothing (issue 4, proof 2); the original stays replayable."""

from __future__ import annotations

import copy

import pytest

from salesrefund.store import tables as t
from sqlalchemy import func, select

ORIGINAL = {"invoice": "INV-1", "reason": "damaged",
            "lines": [{"line": 1, "quantity": "1"}, {"line": 2, "quantity": "1"}]}


def mutate(change):
    body = copy.deepcopy(ORIGINAL)
    change(body)
    return body


MUTATIONS = {
    "quantity": lambda b: b["lines"][0].update(quantity="2"),
    "line": lambda b: b["lines"][1].update(line=3),
    "fewer lines": lambda b: b["lines"].pop(),
    "lower price": lambda b: b["lines"][0].update(unit_price="9.00"),
    "reason": lambda b: b.update(reason="changed my mind"),
    "draft": lambda b: b.update(state="draft"),
    "posting date": lambda b: b.update(posting_date="2026-06-14"),
    "payments": lambda b: b.update(payments=[{"method": "store_credit", "amount": "17.24"}]),
    "metadata": lambda b: b.update(metadata={"till": "7"}),
    "no restock": lambda b: b["lines"][0].update(restock=False),
}


def counts(engine) -> dict[str, int]:
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in t.metadata.sorted_tables if table is not t.rate_windows}


def test_ten_mutations_of_a_keyed_request_are_refused_and_write_nothing(books, engine):
    api = books["api"]
    first = api.post("/v1/refunds", ORIGINAL, key="mut-key")
    assert first.status_code == 201, first.text
    before = counts(engine)
    for name, change in MUTATIONS.items():
        response = api.post("/v1/refunds", mutate(change), key="mut-key")
        assert response.status_code == 422, (name, response.text)
        assert response.json()["code"] == "idempotency_key_reused", name
        assert counts(engine) == before, f"the {name} mutation wrote something"
    replay = api.post("/v1/refunds", ORIGINAL, key="mut-key")
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == first.json()


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_is_a_valid_request_on_its_own(books, name):
    """So the 422s above are about the key, not about the mutated bodies being invalid."""
    response = books["api"].post("/v1/refunds/preview", mutate(MUTATIONS[name]))
    assert response.status_code == 200, (name, response.text)
