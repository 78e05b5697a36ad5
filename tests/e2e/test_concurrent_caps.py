"""R7 against a real server: concurrent refunds of the last units never over-refund.

The same scenario, through the same invariant function (``check_refund_invariants``), runs
against the product as shipped and against the test-only control that reads the caps in an
earlier transaction and drops the conditional UPDATE guard. The shipped server must keep every
invariant; the control must break at least one, which shows the guard is what keeps them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import pytest
from e2e_harness import (
    Api,
    InvoiceMonitor,
    Report,
    check_refund_invariants,
    fire,
    make_invoice,
)

CLIENTS = 16
ATTEMPTS_PER_CLIENT = 3
CONTROL_MIN_ROUNDS = 3
CONTROL_MAX_ROUNDS = 5


@dataclass
class Scenario:
    invoice: dict
    plan: list[list[tuple[str, dict]]]
    exhausted_lines: tuple[int, ...]


def last_units(api: Api, rng: random.Random) -> Scenario:
    """One line of 10 units (0.99 at 19 %: the per-unit pieces do not divide evenly); 16 clients
    each send 1-3 units, 1-3 units, then 1 unit. Demand is 48 attempts for 10 units, and the 16
    one-unit attempts guarantee the line ends exactly at sold (if any unit were left, every
    one-unit attempt would have succeeded, i.e. 16 units, more than were sold)."""
    invoice = make_invoice(api, [("P1", "10", "0.99", "19")], prefix="LAST")
    number = invoice["number"]
    plan = []
    for c in range(CLIENTS):
        quantities = [rng.randint(1, 3), rng.randint(1, 3), 1]
        requests = []
        for a, q in enumerate(quantities):
            key = f"{number}-c{c}-a{a}-{uuid.uuid4().hex[:6]}"
            requests.append((key, {"invoice": number, "lines": [{"line": 1, "quantity": str(q)}],
                                   "reason": "e2e last units", "metadata": {"key": key}}))
        plan.append(requests)
    return Scenario(invoice, plan, exhausted_lines=(1,))


def amount_cap(api: Api, rng: random.Random) -> Scenario:
    """Three lines, and refunds that mix quantities on two lines, amount-only refunds on a line
    (capped by the line's remaining gross) and free amounts (capped by the invoice's remaining
    total); demand is several times the invoice total, so the amount caps bind."""
    invoice = make_invoice(api, [("P1", "4", "3.33", "15"), ("P2", "6", "0.99", "19"),
                                 ("P3", "3", "12.50", "0")], prefix="AMT")
    number = invoice["number"]

    def lines_of(kind: str) -> list[dict]:
        if kind == "multi":
            return [{"line": 1, "quantity": "1"}, {"line": 2, "quantity": str(rng.randint(1, 2))}]
        if kind == "line_amount":
            return [{"line": 3, "amount": rng.choice(["5.00", "7.50", "12.34"])}]
        if kind == "line_units":
            return [{"line": 3, "quantity": "1"}]
        return [{"amount": rng.choice(["2.00", "4.50", "9.99"]), "tax_rate": "0"}]  # free amount

    plan = []
    for c in range(CLIENTS):
        requests = []
        for a in range(ATTEMPTS_PER_CLIENT):
            kind = rng.choice(["multi", "line_amount", "line_units", "free"])
            key = f"{number}-c{c}-a{a}-{uuid.uuid4().hex[:6]}"
            requests.append((key, {"invoice": number, "lines": lines_of(kind), "reason": f"e2e {kind}",
                                   "metadata": {"key": key, "kind": kind}}))
        plan.append(requests)
    return Scenario(invoice, plan, exhausted_lines=())


SCENARIOS = {"last_units": last_units, "amount_cap": amount_cap}


def run_scenario(running, name: str, seed: int) -> tuple[Report, Scenario]:
    """Build the scenario, fire it from 16 concurrent clients, and check every invariant."""
    api = running.api()
    try:
        scenario = SCENARIOS[name](api, random.Random(seed))
        number = scenario.invoice["number"]
        with InvoiceMonitor(running.server.base_url, running.token, number) as monitor:
            outcomes = fire(running.server.base_url, running.token, scenario.plan)
        report = check_refund_invariants(api, number, outcomes, exhausted_lines=scenario.exhausted_lines,
                                         monitor=monitor)
        invoice = api.ok(api.get(f"/v1/invoices/{number}"))
        print(f"\n[{name}] workers={running.server.workers} unguarded={running.server.unguarded} "
              f"seed={seed}: {report.line()} monitor_polls={monitor.polls} "
              f"refunded_total={invoice['refunded_total']}/{invoice['total']} "
              f"lines={[(l['refunded_quantity'], l['quantity'], l['refunded_amount'], l['gross']) for l in invoice['lines']]}")
        return report, scenario
    finally:
        api.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_concurrent_last_units(guarded_server, name):
    report, _ = run_scenario(guarded_server, name, seed=7)
    assert report.attempts == CLIENTS * ATTEMPTS_PER_CLIENT
    assert report.rejected > 0, "attempts should outnumber capacity"
    assert report.violations == [], "\n".join(report.violations[:20])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_unguarded_control_breaks_the_invariants(control_server, name):
    """The same scenario and the same invariant function against SALESREFUND_TEST_UNGUARDED_CAPS=1:
    at least one invariant must break. Rounds with fresh invoices: at least 3, up to 5 when none
    has broken yet."""
    broken = 0
    rounds = 0
    totals = {"attempts": 0, "201": 0, "422": 0, "5xx": 0, "no_answer": 0, "state_violations": 0}
    examples: list[str] = []
    for round_no in range(CONTROL_MAX_ROUNDS):
        rounds += 1
        report, _ = run_scenario(control_server, name, seed=1000 + round_no)
        for k, v in (("attempts", report.attempts), ("201", report.created), ("422", report.rejected),
                     ("5xx", report.server_errors), ("no_answer", report.transport_errors),
                     ("state_violations", len(report.state_violations))):
            totals[k] += v
        if report.violations:
            broken += 1
            examples += report.violations[:1] + report.state_violations[:2]
        if rounds >= CONTROL_MIN_ROUNDS and broken:
            break
    print(f"\n[control {name}] broke in {broken} of {rounds} rounds; totals {totals}; e.g.:\n  "
          + "\n  ".join(e[:160] for e in examples[:6]))
    assert broken >= 1, f"the unguarded control kept every invariant in {rounds} rounds: no race observed"
