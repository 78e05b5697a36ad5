"""Harness for the end-to-end tests: a real ``uvicorn`` server process on 127.0.0.1 over a
SQLite file, plain HTTP clients (httpx) in threads, and the invariant checks the tests share.

Everything here is bounded: every wait has a deadline and every loop a maximum count.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx

HOST = "127.0.0.1"
STARTUP_SECONDS = 30.0
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CAP_CODES = {"quantity_exceeds_refundable", "amount_exceeds_refundable"}
MAX_PAGES = 50


# -- the server process -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m uvicorn salesrefund.bootstrap:app_from_environment --factory`` on a free port.

    The Popen pid is the uvicorn process itself (no shell in between); with one worker it is the
    process that serves requests, so ``kill()`` SIGKILLs exactly the process holding the database.
    """

    def __init__(self, database_url: str, log_dir: Path, *, workers: int = 1, unguarded: bool = False):
        self.database_url = database_url
        self.log_dir = log_dir
        self.workers = workers
        self.unguarded = unguarded
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.starts = 0
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self.port = free_port()
        env = dict(os.environ)
        env["SALESREFUND_DATABASE_URL"] = self.database_url
        env.pop("SALESREFUND_TEST_UNGUARDED_CAPS", None)
        if self.unguarded:
            env["SALESREFUND_TEST_UNGUARDED_CAPS"] = "1"
        self.log_path = self.log_dir / f"server-{self.port}-{self.starts}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - open for the life of the process
        cmd = [sys.executable, "-m", "uvicorn", "salesrefund.bootstrap:app_from_environment", "--factory",
               "--host", HOST, "--port", str(self.port), "--log-level", "warning",
               "--timeout-graceful-shutdown", "3"]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        last = None
        with httpx.Client(timeout=2.0) as client:
            for _ in range(2000):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    r = client.get(f"{self.base_url}/healthz")
                    if r.status_code == 200 and r.json().get("status") == "ok":
                        if self.workers > 1:
                            time.sleep(1.0)  # let the other workers finish starting too
                        return
                    last = r.status_code
                except httpx.TransportError as error:
                    last = repr(error)
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not healthy after {STARTUP_SECONDS}s (last: {last}):\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the uvicorn process itself: no shutdown hooks, no flushing, nothing."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._close_log()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own session: the server and its workers
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except (OSError, AttributeError):
            return ""


# -- a small HTTP client ------------------------------------------------------------------------

class Api:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.token = token
        self.client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT,
                                   headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **params) -> httpx.Response:
        return self.client.get(path, params=params or None)

    def post(self, path: str, body: dict, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else None
        return self.client.post(path, json=body, headers=headers)

    def ok(self, response: httpx.Response, status: int = 200) -> dict:
        assert response.status_code == status, f"{response.status_code}: {response.text}"
        return response.json()


def today_utc():
    return datetime.now(UTC).date()


def money2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def setup_master_data(api: Api) -> None:
    api.ok(api.post("/v1/customers", {"code": "C1", "name": "Customer One", "tax_number": "TX1"}), 201)
    for code in ("P1", "P2", "P3"):
        api.ok(api.post("/v1/products", {"code": code, "name": f"Product {code}", "stock_tracked": True,
                                         "cost": "0.50"}), 201)


def make_invoice(api: Api, lines: list[tuple[str, str, str, str]], prefix: str = "INV") -> dict:
    """``lines``: (product, quantity, unit price, tax rate %), tax-exclusive, paid by card."""
    number = f"{prefix}-{uuid.uuid4().hex[:10]}"
    nets = [money2(Decimal(q) * Decimal(p)) for _, q, p, _ in lines]
    total = sum(net + money2(net * Decimal(r) / 100) for net, (_, _, _, r) in zip(nets, lines))
    body = {"number": number, "customer": "C1", "date": (today_utc() - timedelta(days=2)).isoformat(),
            "lines": [{"product": prod, "quantity": q, "unit_price": p, "tax_rate": r} for prod, q, p, r in lines],
            "payments": [{"method": "card", "amount": str(total)}]}
    invoice = api.ok(api.post("/v1/invoices", body), 201)
    assert Decimal(invoice["total"]) == total, (invoice["total"], total)
    return invoice


# -- firing requests concurrently -------------------------------------------------------------------

@dataclass
class Outcome:
    key: str
    body: dict
    status: int | None = None
    data: dict | None = None
    text: str = ""
    replayed: bool = False
    retry_after: str | None = None
    error: str | None = None  # a transport error: no answer at all
    client: int = 0

    @property
    def code(self) -> str | None:
        return (self.data or {}).get("code") if self.status and self.status >= 400 else None


def post_outcome(client: httpx.Client, key: str, body: dict, client_no: int = 0) -> Outcome:
    outcome = Outcome(key=key, body=body, client=client_no)
    try:
        r = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": key})
    except httpx.HTTPError as error:
        outcome.error = f"{type(error).__name__}: {error}"
        return outcome
    outcome.status = r.status_code
    outcome.text = r.text
    outcome.replayed = r.headers.get("Idempotent-Replayed", "").lower() == "true"
    outcome.retry_after = r.headers.get("Retry-After")
    try:
        outcome.data = r.json()
    except ValueError:
        outcome.data = None
    return outcome


NOT_SENT = "not sent"


def fire(base_url: str, token: str, plan: list[list[tuple[str, dict]]], *,
         after_each: Callable[[Outcome], None] | None = None, deadline_s: float = 60.0,
         stop: threading.Event | None = None) -> list[Outcome]:
    """One thread per client, each sending its own list of (key, body) in order; all clients
    start together at a barrier. Returns every outcome (answer or transport error).

    Once ``stop`` is set (or the deadline passes) the clients send nothing more: each request not
    yet sent is recorded with ``error`` starting with ``NOT_SENT``."""
    barrier = threading.Barrier(len(plan))
    stop_at = time.monotonic() + deadline_s

    def run(client_no: int, requests: list[tuple[str, dict]]) -> list[Outcome]:
        results = []
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            barrier.wait(timeout=30)
            for key, body in requests:
                if stop is not None and stop.is_set():
                    results.append(Outcome(key=key, body=body, error=f"{NOT_SENT}: stopped", client=client_no))
                    continue
                if time.monotonic() > stop_at:
                    results.append(Outcome(key=key, body=body, error=f"{NOT_SENT}: deadline", client=client_no))
                    continue
                outcome = post_outcome(client, key, body, client_no)
                results.append(outcome)
                if after_each is not None:
                    after_each(outcome)
        return results

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        futures = [pool.submit(run, i, requests) for i, requests in enumerate(plan)]
        return [o for f in futures for o in f.result(timeout=deadline_s + 60)]


class InvoiceMonitor:
    """Polls GET /v1/invoices/{number} while a burst runs and keeps the highest figures seen,
    so "never exceeds" is observed during the run, not only at the end."""

    def __init__(self, base_url: str, token: str, number: str, interval: float = 0.02, max_polls: int = 3000):
        self.base_url, self.token, self.number = base_url, token, number
        self.interval, self.max_polls = interval, max_polls
        self.polls = 0
        self.max_quantity: dict[int, Decimal] = {}
        self.max_amount: dict[int, Decimal] = {}
        self.max_total = Decimal(0)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:
            while not self._stop.is_set() and self.polls < self.max_polls:
                self.polls += 1
                try:
                    r = client.get(f"/v1/invoices/{self.number}")
                except httpx.HTTPError as error:
                    self.errors.append(repr(error))
                    break
                if r.status_code != 200:
                    self.errors.append(f"GET invoice -> {r.status_code}")
                else:
                    inv = r.json()
                    for line in inv["lines"]:
                        n = line["line"]
                        self.max_quantity[n] = max(self.max_quantity.get(n, Decimal(0)),
                                                   Decimal(line["refunded_quantity"]))
                        self.max_amount[n] = max(self.max_amount.get(n, Decimal(0)),
                                                 Decimal(line["refunded_amount"]))
                    self.max_total = max(self.max_total, Decimal(inv["refunded_total"]))
                self._stop.wait(self.interval)


# -- reading back ---------------------------------------------------------------------------------------

def list_refunds(api: Api, invoice: str) -> list[dict]:
    items, cursor = [], None
    for _ in range(MAX_PAGES):
        params = {"invoice": invoice, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = api.ok(api.get("/v1/refunds", **params))
        items += page["items"]
        cursor = page.get("next")
        if not cursor:
            return items
    raise AssertionError(f"more than {MAX_PAGES} pages of refunds")


def trial_balance_violations(api: Api) -> list[str]:
    tb = api.ok(api.get("/v1/ledger/trial-balance"))
    if Decimal(tb["total_debit"]) != Decimal(tb["total_credit"]):
        return [f"trial balance does not balance: debit {tb['total_debit']} != credit {tb['total_credit']}"]
    return []


# -- the invariants (one function for the guarded test and the control) -------------------------

@dataclass
class Report:
    attempts: int = 0
    created: int = 0
    rejected: int = 0
    server_errors: int = 0
    other: int = 0
    transport_errors: int = 0
    violations: list[str] = field(default_factory=list)
    answers_checked: int = 0  # violations[:answers_checked] are about single answers, the rest about state

    @property
    def state_violations(self) -> list[str]:
        return self.violations[self.answers_checked:]

    def line(self) -> str:
        return (f"attempts={self.attempts} created(201)={self.created} rejected(422)={self.rejected} "
                f"5xx={self.server_errors} other={self.other} transport_errors={self.transport_errors} "
                f"violations={len(self.violations)} (state: {len(self.state_violations)})")


def check_refund_invariants(api: Api, invoice_number: str, outcomes: list[Outcome], *,
                            exhausted_lines: tuple[int, ...] = (),
                            monitor: InvoiceMonitor | None = None) -> Report:
    """Every invariant a burst of refunds against one invoice must keep (R7, R8, R14, R17).

    Returns a ``Report`` whose ``violations`` is empty when everything holds.
    """
    report = Report(attempts=len(outcomes))
    bad = report.violations
    created: list[Outcome] = []
    for o in outcomes:
        if o.error is not None:
            report.transport_errors += 1
            bad.append(f"{o.key}: no answer ({o.error})")
        elif o.status == 201:
            report.created += 1
            created.append(o)
        elif o.status == 422:
            report.rejected += 1
            if o.code not in CAP_CODES:
                bad.append(f"{o.key}: 422 with code {o.code!r}, not a cap rejection: {o.text[:300]}")
        elif o.status >= 500:
            report.server_errors += 1
            bad.append(f"{o.key}: {o.status} server error: {o.text[:200]}")
        else:
            report.other += 1
            bad.append(f"{o.key}: unexpected status {o.status}: {o.text[:300]}")
    report.answers_checked = len(bad)

    invoice = api.ok(api.get(f"/v1/invoices/{invoice_number}"))
    quantity_201: dict[int, Decimal] = {}
    amount_201: dict[int, Decimal] = {}
    total_201 = Decimal(0)
    for o in created:
        total_201 += Decimal(o.data["gross"])
        for line in o.data["lines"]:
            n = line["invoice_line"]
            if n is not None:
                quantity_201[n] = quantity_201.get(n, Decimal(0)) + Decimal(line["quantity"])
                amount_201[n] = amount_201.get(n, Decimal(0)) + Decimal(line["gross"])

    for line in invoice["lines"]:
        n = line["line"]
        sold, refunded = Decimal(line["quantity"]), Decimal(line["refunded_quantity"])
        gross, refunded_amount = Decimal(line["gross"]), Decimal(line["refunded_amount"])
        if refunded > sold:
            bad.append(f"line {n}: refunded quantity {refunded} exceeds sold {sold}")
        if refunded_amount > gross:
            bad.append(f"line {n}: refunded amount {refunded_amount} exceeds line gross {gross}")
        if monitor is not None and monitor.max_quantity.get(n, 0) > sold:
            bad.append(f"line {n}: refunded quantity {monitor.max_quantity[n]} > sold {sold} seen during the run")
        if monitor is not None and monitor.max_amount.get(n, 0) > gross:
            bad.append(f"line {n}: refunded amount {monitor.max_amount[n]} > gross {gross} seen during the run")
        if quantity_201.get(n, Decimal(0)) != refunded:
            bad.append(f"line {n}: 201 responses sum to quantity {quantity_201.get(n, 0)}, "
                       f"the line says refunded {refunded}")
        if amount_201.get(n, Decimal(0)) != refunded_amount:
            bad.append(f"line {n}: 201 responses sum to amount {amount_201.get(n, 0)}, "
                       f"the line says refunded {refunded_amount}")
        if n in exhausted_lines:
            if refunded != sold:
                bad.append(f"line {n}: ended at refunded quantity {refunded}, not exactly sold {sold}")
            if refunded_amount != gross:
                bad.append(f"line {n}: fully refunded but refunded amount {refunded_amount} != gross {gross} (R8)")
    total, refunded_total = Decimal(invoice["total"]), Decimal(invoice["refunded_total"])
    if refunded_total > total:
        bad.append(f"invoice: refunded total {refunded_total} exceeds total {total}")
    if monitor is not None and monitor.max_total > total:
        bad.append(f"invoice: refunded total {monitor.max_total} > total {total} seen during the run")
    if refunded_total != total_201:
        bad.append(f"invoice: 201 responses sum to {total_201}, the invoice says refunded {refunded_total}")

    listed = list_refunds(api, invoice_number)
    listed_ids = sorted(r["id"] for r in listed)
    created_ids = sorted(o.data["id"] for o in created)
    if len(listed) != len(created):
        bad.append(f"GET /v1/refunds?invoice= lists {len(listed)} refunds, {len(created)} were acknowledged 201")
    if listed_ids != created_ids:
        bad.append("the refunds listed are not the refunds acknowledged")
    listed_quantity = sum((Decimal(l["quantity"]) for r in listed for l in r["lines"]), Decimal(0))
    if listed_quantity != sum(quantity_201.values(), Decimal(0)):
        bad.append(f"refunds listed sum to quantity {listed_quantity}, 201s to {sum(quantity_201.values())}")
    if any(r["state"] != "posted" for r in listed):
        bad.append("a listed refund is not posted")
    keys = [r["metadata"].get("key") for r in listed]
    if len(keys) != len(set(keys)):
        bad.append("one Idempotency-Key produced more than one refund")
    bad += trial_balance_violations(api)
    return report


# -- the operator's check and the server's memory -------------------------------------------------

CHECK_SECONDS = 120.0


def check_command(database_url: str) -> list[str]:
    """``salesrefund check --db URL --json`` as a subprocess of this interpreter (the console
    script ``salesrefund`` is ``salesrefund.cli:main``)."""
    return [sys.executable, "-c", "from salesrefund.cli import main; main()", "check", "--db", database_url, "--json"]


def start_check(database_url: str) -> subprocess.Popen:
    return subprocess.Popen(check_command(database_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@dataclass
class CheckResult:
    returncode: int
    report: dict | None
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.report) and self.report.get("ok") is True \
            and all(not findings for findings in self.report.get("checks", {}).values())

    def violations(self) -> dict[str, list]:
        return {name: findings for name, findings in (self.report or {}).get("checks", {}).items() if findings}


def finish_check(proc: subprocess.Popen, timeout: float = CHECK_SECONDS) -> CheckResult:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        return CheckResult(-1, None, f"salesrefund check did not finish in {timeout}s\n{err[-2000:]}")
    try:
        report = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        report = None
    return CheckResult(proc.returncode, report, err[-2000:])


def run_check(database_url: str, timeout: float = CHECK_SECONDS) -> CheckResult:
    return finish_check(start_check(database_url), timeout)


def rss_kib(pid: int) -> int:
    """The resident set size of a process in KiB (``VmRSS`` of ``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")
