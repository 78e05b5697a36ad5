"""``salesrefund import`` and ``salesrefund export`` (issue 13), on the tests' database (both engines)."""

from __future__ import annotations

import csv
import io
import json
import os
import tracemalloc
from datetime import date

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from salesrefund import bulk
from salesrefund.cli import app as cli_app
from salesrefund.store import tables as t

CUSTOMERS = "code,name,tax_number,email\nC1,Customer One,TX1,one@example.com\nC2,Customer Two,,\n"
PRODUCTS = ("code,name,unit,stock_tracked,cost,barcodes\n"
            "BOOK,Book,unit,true,6.00,BC-1|BC-2\nMUG,Mug,unit,yes,2.00,\nWRAP,Gift wrap,unit,false,0,\n")
LOCATIONS = json.dumps([{"code": "WH2", "name": "Warehouse 2"}])
STOCK = "product,quantity,location,date\nBOOK,10,main,2026-06-01\nMUG,5,WH2,2026-06-01\n"
INVOICES = ("number,customer,date,payments,product,description,quantity,unit_price,tax_rate,discount\n"
            "INV-1,C1,2026-06-01,card:47.98,BOOK,,3,10.00,15,\n"
            "INV-1,C1,2026-06-01,card:47.98,MUG,,2,4.99,15,\n"
            "INV-1,C1,2026-06-01,card:47.98,WRAP,,1,2.00,0,\n"
            "INV-2,C2,2026-06-02,,,Consulting,1,100.00,15,10.00\n")


@pytest.fixture
def run(database_url):
    runner = CliRunner()

    def invoke(*args, input=None, code=0):
        result = runner.invoke(cli_app, [*args, "--db", database_url], input=input)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
        return result

    return invoke


@pytest.fixture
def tenant(make_tenant, api_for):
    made = make_tenant()
    made["api"] = api_for(made["token"])
    return made


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def imported(run, tenant, kind, path, *extra, code=0):
    result = run("import", kind, path, "--tenant", tenant["tenant"], *extra, "--json", code=code)
    return json.loads(result.stdout)


def load_everything(run, tenant, tmp_path):
    reports = {}
    for kind, name, text in (("customers", "c.csv", CUSTOMERS), ("products", "p.csv", PRODUCTS),
                             ("locations", "l.json", LOCATIONS), ("stock", "s.csv", STOCK),
                             ("invoices", "i.csv", INVOICES)):
        reports[kind] = imported(run, tenant, kind, write(tmp_path, name, text))
    return reports


def test_import_every_kind_then_again_skips_what_is_there(run, tenant, tmp_path):
    reports = load_everything(run, tenant, tmp_path)
    assert {k: (r["created"], r["skipped"], r["failed"]) for k, r in reports.items()} == {
        "customers": (2, 0, 0), "products": (3, 0, 0), "locations": (1, 0, 0), "stock": (2, 0, 0),
        "invoices": (2, 0, 0)}
    api = tenant["api"]
    inv = api.get("/v1/invoices/INV-1").json()
    assert (inv["net"], inv["tax"], inv["total"]) == ("41.98", "6.00", "47.98")  # as the books fixture's INV-1
    assert [line["product"] for line in inv["lines"]] == ["BOOK", "MUG", "WRAP"]
    assert api.get("/v1/invoices/INV-2").json()["total"] == "103.50"  # (100.00 - 10.00) + 15 %
    assert api.get("/v1/products/BOOK").json()["barcodes"] == ["BC-1", "BC-2"]
    stock = {(s["product"], s["location"]): s["on_hand"] for s in api.get("/v1/stock").json()["items"]}
    assert stock == {("BOOK", "main"): "7", ("MUG", "WH2"): "5", ("MUG", "main"): "-2"}
    assert [e["type"] for e in api.get("/v1/events").json()["items"]] == ["invoice.created"] * 2  # the same path
    again = load_everything(run, tenant, tmp_path)
    assert {k: (r["created"], r["skipped"]) for k, r in again.items()} == {
        "customers": (0, 2), "products": (0, 3), "locations": (0, 1), "stock": (0, 2), "invoices": (0, 2)}
    assert len(api.get("/v1/invoices").json()["items"]) == 2
    assert api.get("/v1/stock", product="BOOK").json()["items"][0]["on_hand"] == "7"


BAD_INVOICES = ("number,customer,date,product,quantity,unit_price,tax_rate\n"
                "INV-A,C1,2026-06-01,BOOK,1,10.00,15\n"
                "INV-B,C1,2026-06-01,BOOK,1,10.00,15\n"
                "INV-B,C1,2026-06-01,MUG,lots,4.99,15\n"
                "INV-C,NOBODY,2026-06-01,BOOK,1,10.00,15\n"
                "INV-D,C1,2026-13-01,BOOK,1,10.00,15\n")


def test_the_validation_report_names_row_and_field_and_all_or_nothing_writes_nothing(run, tenant, tmp_path):
    load_everything(run, tenant, tmp_path)
    path = write(tmp_path, "bad.csv", BAD_INVOICES)
    report = imported(run, tenant, "invoices", path, code=1)
    assert report["written"] is False and report["created"] == 0 and report["failed"] == 3
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (4, "/quantity", "validation_error"), (5, "/customer", "customer_not_found"), (6, "/date", "validation_error")]
    assert tenant["api"].get("/v1/invoices/INV-A").status_code == 404  # all or nothing
    human = run("import", "invoices", path, "--tenant", tenant["tenant"], code=1)
    assert "row 4, /quantity:" in human.stderr and "(customer_not_found)" in human.stderr
    assert "nothing written" in human.stdout
    # row by row: the good one goes in, the report is the same
    report = imported(run, tenant, "invoices", path, "--row-by-row", code=1)
    assert (report["created"], report["failed"], report["written"]) == (1, 3, True)
    assert tenant["api"].get("/v1/invoices/INV-A").status_code == 200
    assert tenant["api"].get("/v1/invoices/INV-B").status_code == 404


def test_import_json_from_stdin(run, tenant, tmp_path):
    load_everything(run, tenant, tmp_path)
    body = [{"number": "INV-J", "customer": "C1", "date": "2026-06-03",
             "lines": [{"product": "BOOK", "quantity": 1, "unit_price": 10.1, "tax_rate": "15"}],
             "payments": [{"method": "cash", "amount": "11.62"}]}]
    result = run("import", "invoices", "-", "--format", "json", "--tenant", tenant["tenant"], "--json",
                 input=json.dumps(body))
    assert json.loads(result.stdout)["created"] == 1
    inv = tenant["api"].get("/v1/invoices/INV-J").json()
    assert inv["lines"][0]["unit_price"] == "10.10" and inv["total"] == "11.62"  # 10.1 exactly (JSON number), never a float


def test_export_refunds_journal_and_stock_as_csv_and_json(run, tenant, tmp_path, clock):
    load_everything(run, tenant, tmp_path)
    api = tenant["api"]
    r = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    assert r.status_code == 201, r.text
    out = run("export", "refunds", "--tenant", tenant["tenant"], "--from", "2026-06-15", "--to", "2026-06-15").stdout
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["number"], row["invoice"], row["customer"], row["total"], row["state"]) == (
        r.json()["number"], "INV-1", "C1", "11.50", "posted")
    assert run("export", "refunds", "--tenant", tenant["tenant"], "--to", "2026-06-14").stdout.strip() == \
        ",".join(bulk._SPECS["refunds"].columns)  # only the header
    journal = json.loads(run("export", "journal", "--tenant", tenant["tenant"], "--format", "json").stdout)
    debits = sum(float(x["debit"]) for x in journal)
    assert journal and f"{debits:.2f}" == f"{sum(float(x['credit']) for x in journal):.2f}"
    assert {x["source"] for x in journal} == {"invoice", "receipt", "refund"}
    target = tmp_path / "stock.json"
    run("export", "stock", "--tenant", tenant["tenant"], "--format", "json", "--from", "2026-06-02", "-o", str(target))
    moves = json.loads(target.read_text())
    assert [(m["product"], m["quantity"], m["source"]) for m in moves] == [("BOOK", "1", "refund")]


def test_export_streams_in_flat_memory(engine, tenant, run, tmp_path):
    """Memory while exporting does not grow with the number of rows (pages of 1,000 by id)."""
    load_everything(run, tenant, tmp_path)
    with engine.begin() as conn:
        product = conn.execute(select(t.products.c.id).where(t.products.c.tenant_id == tenant["id"])).first()[0]
        location = conn.execute(select(t.locations.c.id).where(t.locations.c.tenant_id == tenant["id"])).first()[0]
        n = 60_000 if os.environ.get("SALESREFUND_LONG_TESTS") == "1" else 12_000
        conn.execute(insert(t.stock_moves), [{"tenant_id": tenant["id"], "product_id": product, "location_id": location,
                                              "quantity": 10_000, "unit_cost": 1, "date": date(2026, 5, 1),
                                              "source_type": "test", "source_id": i} for i in range(n)])

    class Sink(io.TextIOBase):
        written = 0

        def write(self, text):
            self.written += len(text)
            return len(text)

    def peak(limit_rows: int) -> tuple[int, int]:
        found = bulk.export(engine, tenant["id"], "stock", date_from=None, date_to=None)
        rows = (row for i, row in zip(range(limit_rows), found.rows))
        tracemalloc.start()
        count = bulk.write(rows, found.columns, "json", Sink())
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return count, top

    small, small_peak = peak(3_000)
    large, large_peak = peak(10 ** 9)
    assert small == 3_000 and large >= n
    assert large_peak < 2 * small_peak + 1_000_000, (small_peak, large_peak)
