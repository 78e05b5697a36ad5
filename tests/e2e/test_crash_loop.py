"""Crash under load, many times (issue 4, item 4): SIGKILL the uvicorn process at random moments
while 16 clients post refunds with distinct Idempotency-Keys against invoices with several lines,
restart it on the same database, and after every kill:

* ``salesrefund check --db URL --json`` (the operator's CLI, as a subprocess) passes, run on the
  database exactly as the kill left it (it runs while the server restarts; it only reads);
* every refund acknowledged (201) before the kill is there, identical (``GET /v1/refunds/{id}``);
* resending every unanswered request with its own key and body answers 201 (the original, or a
  replay when it had committed before the kill and only the answer was lost), and each invoice's
  refund list has exactly one refund per key sent, none for a key never sent.

The kill moments come from a seeded generator (``SALESREFUND_CRASH_SEED``, printed): after a
random number of acknowledged refunds (1 to 72) plus a random jitter of up to 40 ms, the clients
stop sending new requests and the process is SIGKILLed, so the requests then in flight (about one
per client) lose their answers. 8 kills by default (about 60-90 s per engine, most of it the
restarts), 50 with ``SALESREFUND_LONG_TESTS=1``. Answers 409/429/503 with ``Retry-After`` (none
expected: every key is distinct and no cap is reachable) are resent like the unanswered ones. On PostgreSQL when ``SALESREFUND_TEST_DATABASE_URL`` says so.
Every loop is bounded in count and every wait in time; everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from e2e_harness import (
    NOT_SENT,
    REQUEST_TIMEOUT,
    Outcome,
    finish_check,
    fire,
    list_refunds,
    make_invoice,
    post_outcome,
    run_check,
    start_check,
    trial_balance_violations,
)

LONG = os.environ.get("SALESREFUND_LONG_TESTS") == "1"
KILLS = 50 if LONG else 8
SEED = int(os.environ.get("SALESREFUND_CRASH_SEED", "20260415"))
CLIENTS = 16
PER_CLIENT = 30                 # at most 480 requests a round; the kill comes long before the end
KILL_AFTER_ACKS = (1, 72)       # the kill comes after this many 201s (uniform) ...
KILL_JITTER_S = (0.0, 0.04)     # ... plus this much time (uniform)
INVOICES = 3
# (product, quantity, unit price, tax %): quantities far beyond what the test refunds, so every
# request is allowed and each one must end as exactly one refund.
LINES = [("P1", "100000", "2.49", "19"), ("P2", "100000", "7.30", "7"),
         ("P3", "100000", "0.99", "0"), ("P1", "100000", "12.00", "19")]
BUDGET_S = 1800.0 if LONG else 300.0   # a hard bound for the whole loop; ~60 s expected in CI
RESEND_TRIES = 40                       # per request, honouring Retry-After (409 key in use, 429, 503)
RETRYABLE = {409, 429, 503}


@dataclass
class Round:
    number: int
    kill_after: int
    jitter: float
    pid: int = 0
    sent: int = 0
    acknowledged: int = 0
    unanswered: int = 0
    in_flight: int = 0       # unanswered on a live connection (the kill cut the answer)
    refused: int = 0         # unanswered: the connection was refused (the server was gone)
    deferred: int = 0        # answered 409/429/503 with Retry-After: nothing done, resend
    committed: int = 0       # unanswered but committed: a replay on resend
    resend_retries: int = 0
    timing: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"kill {self.number}: pid {self.pid} after {self.kill_after} acks + {self.jitter * 1000:.0f} ms; "
                f"sent {self.sent}, acknowledged {self.acknowledged}, unanswered {self.unanswered} "
                f"({self.in_flight} in flight, {self.refused} refused), deferred {self.deferred}, "
                f"unanswered-but-committed {self.committed}, resend retries {self.resend_retries}")


def _body(rng: random.Random, number: str, key: str) -> dict:
    lines = []
    for n in sorted(rng.sample(range(1, len(LINES) + 1), rng.randint(1, 3))):
        kind = rng.random()
        if kind < 0.6:
            lines.append({"line": n, "quantity": str(rng.randint(1, 3))})
        elif kind < 0.8:
            lines.append({"line": n, "quantity": "1", "restock": False})
        else:
            lines.append({"line": n, "amount": f"0.{rng.randint(1, 99):02d}"})
    return {"invoice": number, "lines": lines, "reason": "e2e crash loop", "metadata": {"key": key}}


def _plan(rng: random.Random, round_no: int, numbers: list[str]) -> list[list[tuple[str, dict]]]:
    tag = uuid.uuid4().hex[:6]
    plan = []
    for c in range(CLIENTS):
        requests = []
        for a in range(PER_CLIENT):
            key = f"crash-r{round_no}-c{c}-a{a}-{tag}"
            requests.append((key, _body(rng, rng.choice(numbers), key)))
        plan.append(requests)
    return plan


def _resend(base_url: str, token: str, outcome: Outcome, deadline: float) -> tuple[Outcome, int]:
    """Send ``outcome``'s request again with its key until it is answered with something other
    than 'retry later'; returns the final outcome and the number of retries."""
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        again = post_outcome(client, outcome.key, outcome.body)
        for tries in range(1, RESEND_TRIES + 1):
            if again.error is None and again.status not in RETRYABLE:
                return again, tries - 1
            if time.monotonic() > deadline:
                break
            wait = float(again.retry_after) if (again.retry_after or "").isdigit() else 0.2
            time.sleep(min(max(wait, 0.05), 2.0))
            again = post_outcome(client, outcome.key, outcome.body)
        return again, RESEND_TRIES


def _identical(api_base: str, token: str, outcomes: list[Outcome]) -> list[str]:
    """Each acknowledged refund reads back identical to its 201 answer (8 readers in parallel)."""
    def chunk(part: list[Outcome]) -> list[str]:
        found = []
        with httpx.Client(base_url=api_base, timeout=REQUEST_TIMEOUT,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for o in part:
                r = client.get(f"/v1/refunds/{o.data['id']}")
                if r.status_code != 200:
                    found.append(f"{o.key}: acknowledged refund {o.data['id']} is gone ({r.status_code})")
                elif r.json() != o.data:
                    found.append(f"{o.key}: acknowledged refund {o.data['id']} differs from its 201 answer")
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [p for found in pool.map(chunk, [outcomes[i::8] for i in range(8)]) for p in found]


def test_sigkill_at_random_moments_under_load(make_server):
    started = time.monotonic()
    rng = random.Random(SEED)
    running = make_server(workers=1)  # one uvicorn process: the pid we SIGKILL is the one serving
    server, token = running.server, running.token
    url = server.database_url
    api = running.api()
    numbers = [make_invoice(api, LINES, prefix="CRASH")["number"] for _ in range(INVOICES)]
    api.close()

    expected: dict[str, dict[str, str]] = {n: {} for n in numbers}  # invoice -> key -> refund id
    all_acknowledged: list[Outcome] = []
    rounds: list[Round] = []
    checks_passed = 0
    requests_total = 0

    for round_no in range(1, KILLS + 1):
        assert time.monotonic() - started < BUDGET_S, \
            f"time budget {BUDGET_S}s spent after {round_no - 1} of {KILLS} kills"
        rd = Round(round_no, rng.randint(*KILL_AFTER_ACKS), rng.uniform(*KILL_JITTER_S))
        rounds.append(rd)
        plan = _plan(rng, round_no, numbers)
        round_started = time.monotonic()
        acks = 0
        lock = threading.Lock()
        reached = threading.Event()
        stop = threading.Event()

        def after_each(outcome: Outcome, rd=rd) -> None:
            nonlocal acks
            if outcome.status == 201:
                with lock:
                    acks += 1
                    if acks >= rd.kill_after:
                        reached.set()

        with ThreadPoolExecutor(max_workers=1) as pool:
            burst = pool.submit(fire, server.base_url, token, plan, after_each=after_each, deadline_s=60, stop=stop)
            assert reached.wait(timeout=60), \
                f"kill {round_no}: the burst never reached {rd.kill_after} acknowledged refunds\n{server.log_tail()}"
            time.sleep(rd.jitter)
            rd.pid = server.pid
            stop.set()  # no new requests from here on: those in flight now are cut by the kill
            server.kill()
            burst_s = time.monotonic() - round_started
            outcomes = burst.result(timeout=120)

        # The database as the kill left it, checked while the server restarts on it.
        check = start_check(url)
        server.start()
        restart_s = time.monotonic() - round_started - burst_s
        result = finish_check(check)
        check_s = time.monotonic() - round_started - burst_s
        assert result.ok, f"kill {round_no}: salesrefund check failed: {result.violations() or result.stderr}"
        checks_passed += 1

        sent = [o for o in outcomes if not (o.error or "").startswith(NOT_SENT)]
        acknowledged = [o for o in sent if o.status == 201]
        unanswered = [o for o in sent if o.status is None]
        refused = [o for o in unanswered if "ConnectError" in (o.error or "")]
        deferred = [o for o in sent if o.status in RETRYABLE and o.retry_after]
        other = [o for o in sent if o.status is not None and o.status != 201 and o not in deferred]
        rd.sent, rd.acknowledged, rd.unanswered = len(sent), len(acknowledged), len(unanswered)
        rd.refused, rd.in_flight, rd.deferred = len(refused), len(unanswered) - len(refused), len(deferred)
        requests_total += len(sent)
        assert not other, f"kill {round_no}: answers other than 201: " + \
            "; ".join(f"{o.key}: {o.status} {o.text[:200]}" for o in other[:5])

        # Every acknowledged refund is there and identical.
        problems = _identical(server.base_url, token, acknowledged)
        assert not problems, f"kill {round_no}: " + "; ".join(problems[:10])

        verify_s = time.monotonic() - round_started
        # Resend every unanswered (or deferred) request with its own key and body.
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            resent = list(pool.map(lambda o: _resend(server.base_url, token, o, deadline), unanswered + deferred))
        bad = [(o.key, again.status, again.error, again.text[:200]) for o, (again, _) in
               zip(unanswered + deferred, resent) if again.status != 201]
        assert not bad, f"kill {round_no}: resends not answered 201: {bad[:5]}"
        rd.resend_retries = sum(tries for _, tries in resent)
        resend_s = time.monotonic() - round_started
        rd.committed = sum(1 for again, _ in resent if again.replayed)
        refused_keys = {o.key for o in refused} | {o.key for o in deferred}
        impossible = [again.key for again, _ in resent if again.replayed and again.key in refused_keys]
        assert not impossible, f"kill {round_no}: never processed yet replayed: {impossible[:5]}"

        # Exactly one refund per key sent, on each invoice; the ids are the ones answered.
        for o in acknowledged:
            expected[o.body["invoice"]][o.key] = o.data["id"]
        for again, _ in resent:
            expected[again.body["invoice"]][again.key] = again.data["id"]
        all_acknowledged += acknowledged + [again for again, _ in resent]
        api = running.api()
        try:
            for number in numbers:
                refunds = list_refunds(api, number)
                per_key = Counter(r["metadata"].get("key") for r in refunds)
                dupes = [k for k, n in per_key.items() if n > 1]
                assert not dupes, f"kill {round_no}: invoice {number}: keys with several refunds: {dupes[:5]}"
                assert set(per_key) == set(expected[number]), (
                    f"kill {round_no}: invoice {number}: refunds without an answered key "
                    f"{sorted(set(per_key) - set(expected[number]))[:5]}, answered keys without a refund "
                    f"{sorted(set(expected[number]) - set(per_key))[:5]}")
                ids = {r["metadata"]["key"]: r["id"] for r in refunds}
                assert ids == expected[number], f"kill {round_no}: invoice {number}: a key's refund is not its answer"
            assert trial_balance_violations(api) == []
        finally:
            api.close()
        rd.timing = (f"burst {burst_s:.1f}s, restart {restart_s:.1f}s, check {check_s:.1f}s, verified at "
                     f"{verify_s:.1f}s, resent at {resend_s:.1f}s, listed at {time.monotonic() - round_started:.1f}s")
        print(f"\n[crash loop] {rd.line()}; check ok; {rd.timing}", end="")

    # After the last resend: the whole database checks out, every refund acknowledged in any round
    # is still identical, and sending a sample of the requests again only replays.
    final = run_check(url)
    assert final.ok, f"final salesrefund check failed: {final.violations() or final.stderr}"
    checks_passed += 1
    problems = _identical(server.base_url, token, all_acknowledged)
    assert not problems, "after all kills: " + "; ".join(problems[:10])
    sample = random.Random(SEED + 1).sample(all_acknowledged, min(64, len(all_acknowledged)))
    again_all = fire(server.base_url, token, [[(o.key, o.body) for o in sample[i::8]] for i in range(8)])
    assert all(a.status == 201 and a.replayed for a in again_all), \
        [(a.key, a.status, a.replayed, a.error) for a in again_all if not (a.status == 201 and a.replayed)]
    by_key = {o.key: o.data["id"] for o in sample}
    assert all(a.data["id"] == by_key[a.key] for a in again_all)

    total = sum(len(keys) for keys in expected.values())
    print(f"\n[crash loop] engine {url.split(':', 1)[0]}, seed {SEED}: kills {len(rounds)}, "
          f"requests {requests_total}, acknowledged {sum(r.acknowledged for r in rounds)}, "
          f"unanswered {sum(r.unanswered for r in rounds)} "
          f"({sum(r.in_flight for r in rounds)} in flight, {sum(r.refused for r in rounds)} refused), "
          f"deferred {sum(r.deferred for r in rounds)}, "
          f"unanswered-but-committed {sum(r.committed for r in rounds)}, refunds {total} (one per key), "
          f"check passed {checks_passed}/{len(rounds) + 1}, {time.monotonic() - started:.1f}s")
