"""The scenarios of issue 5, each on one engine. Every function returns plain JSON-able data:
``figures`` (name -> list of per-repetition values, summarised later) and ``details``.

Throughput (scenarios 1-4) runs on one database and one server, repetition by repetition, each
repetition measuring storage limit, echo, refunds over HTTP and refunds in process side by side,
so drift on a shared machine hits a figure and its baseline alike.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import dbs, fixtures, loadgen, peer, storage
from .common import Clients, log
from .runner import run_clients
from .server import Server

CAP_CODES = {"quantity_exceeds_refundable", "amount_exceeds_refundable"}
GROWTH_BUILDER = "growth-v1"


@dataclass
class Config:
    engines: list[str]
    smoke: bool = False
    runs: int = 3
    duration: float = 10.0
    warmup: float = 2.0
    connections: int = 32
    workers: int = 2
    invoices: int = 64
    units_per_line: int = 20_000
    tokens: int = 64
    growth_size: int = 10_000
    growth_base: int = 0  # 0: growth_size // 10 (at most 10_000)
    growth_batch: int = 500
    contention_clients: int = 16
    hot_invoices: int = 3
    burst_units: int = 20
    burst_requests: int = 10
    memory_refunds: int = 100_000
    memory_max_seconds: float = 3600.0
    peer_seconds: float = 20.0
    peer_max_cycles: int = 2_000
    loadgen: str = "wrk"
    check_timeout: float = 900.0
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))

    @property
    def base_size(self) -> int:
        return self.growth_base or max(1, min(10_000, self.growth_size // 10))

    @property
    def server_clients(self) -> Clients:
        """The client structure of the server: its workers, each with its share of connections."""
        return Clients(self.workers, max(1, self.connections // self.workers))


SCENARIOS = ("throughput", "growth", "contention", "memory", "peer")


# -- helpers -----------------------------------------------------------------------------------------------

def check_database(url: str, timeout: float) -> dict:
    """``salesrefund check --db URL --json`` in its own process (the operator's command)."""
    cmd = [sys.executable, "-c", "from salesrefund.cli import main; main()", "check", "--db", url, "--json"]
    began = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": None, "error": f"check did not finish in {timeout:.0f} s"}
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": f"exit {proc.returncode}: {proc.stderr[-500:]}"}
    violations = {name: len(found) for name, found in report.get("checks", {}).items() if found}
    return {"ok": proc.returncode == 0 and report.get("ok") is True, "violations": violations,
            "seconds": round(time.monotonic() - began, 1)}


def check_in_process(url: str) -> dict:
    """``run_checks`` (what ``salesrefund check`` runs) without a new interpreter: for the
    databases the bench builds; the contention proof runs the command itself."""
    from salesrefund.service.check import run_checks
    from salesrefund.store.engine import make_engine
    began = time.monotonic()
    engine = make_engine(url)
    try:
        results = run_checks(engine)
    finally:
        engine.dispose()
    violations = {name: len(found) for name, found in results.items() if found}
    return {"ok": not violations, "violations": violations, "seconds": round(time.monotonic() - began, 1),
            "how": "run_checks in process"}


def _prepare(kind: str, cfg: Config, where: Path, label: str, *, invoices: int | None = None,
             units: int | None = None) -> tuple[dbs.Database, fixtures.Fixture]:
    db = dbs.fresh(kind, where, label)
    engine = db.engine(durable=False)  # fixtures only; every measurement uses the durable engine
    try:
        fixture = fixtures.setup_books(engine, tokens=cfg.tokens)
        fixtures.add_invoices(engine, fixture, invoices or cfg.invoices, units or cfg.units_per_line)
    finally:
        engine.dispose()
    return db, fixture


def _warm(generator, server, datafile, cfg, tag) -> int:
    """Warm the server up (imports, pools, caches); returns the refunds it created."""
    if cfg.warmup <= 0:
        return 0
    loadgen.run_load(generator, server.base_url, datafile, mode="echo", connections=cfg.connections,
                     duration=cfg.warmup, run_id=f"warm-echo-{tag}")
    warm = loadgen.run_load(generator, server.base_url, datafile, mode="refund", connections=cfg.connections,
                            duration=cfg.warmup, run_id=f"warm-{tag}-{uuid.uuid4().hex[:6]}")
    return warm["ok"]


# -- 1-4: storage limit, HTTP floor, refunds over HTTP, refunds in process --------------------------------------

def throughput(kind: str, cfg: Config, where: Path, generator: str) -> dict:
    db, fixture = _prepare(kind, cfg, where, "tp")
    engine = db.engine()
    figures: dict[str, list] = {k: [] for k in (
        "storage_tps", "echo_rps", "http_refunds_rps", "http_p50_ms", "http_p99_ms", "http_errors",
        "inproc_refunds_rps", "http_server_cpu_ms", "inproc_cpu_ms", "storage_cpu_ms",
        "ratio_http_storage", "ratio_http_echo", "ratio_inproc_storage")}
    details: dict = {"clients": {}, "runs": []}
    acknowledged = 0
    try:
        captured = storage.capture(engine, fixture)
        acknowledged += 1
        drift = storage.compare(captured)
        details["write_set"] = {"engine": storage.describe(captured), "sizes": captured["sizes"],
                                "baseline_differs": drift}
        if drift:
            log(f"WARNING {kind}: the engine's write set differs from the baseline's: {drift}")
        datafile = fixture.write_data_file(where / f"data-tp-{kind}.txt")
        srv = cfg.server_clients
        # the storage limit and the in-process figure take the best of one client per process and
        # the server's own structure (its workers with their share of the connections)
        structures = [Clients(cfg.workers, 1)] + ([srv] if srv.threads > 1 else [])
        if cfg.smoke:
            structures = [srv]
        details["clients"] = {"server": f"{cfg.workers} workers, {cfg.connections} connections",
                              "storage_and_inproc": [c.label() for c in structures]}
        st_args = {"url": db.url, "fixture": fixture.to_json(), "texts": storage.texts_of(captured), "run_id": "st"}
        ip_args = {"url": db.url, "fixture": fixture.to_json(), "run_id": "ip"}
        before = fixtures.row_counts(engine)
        with Server(db.url, where, workers=cfg.workers) as server:
            acknowledged += _warm(generator, server, datafile, cfg, kind)
            for rep in range(1, cfg.runs + 1):
                run: dict = {"rep": rep}
                best = None
                for clients in structures:
                    r = run_clients("bench.storage", st_args, clients, cfg.duration)
                    acknowledged += r["committed"]
                    run[f"storage {clients.label()}"] = r
                    if best is None or r["tps"] > best["tps"]:
                        best = r
                    if r["failures"]:
                        log(f"storage {kind} {clients.label()}: {r['failures']} failures {r['errors'][:2]}")
                run["storage_best"] = best["clients"]
                echo = loadgen.run_load(generator, server.base_url, datafile, mode="echo",
                                        connections=cfg.connections, duration=cfg.duration, run_id=f"echo-{rep}")
                cpu0 = server.cpu_seconds()
                http = loadgen.run_load(generator, server.base_url, datafile, mode="refund",
                                        connections=cfg.connections, duration=cfg.duration,
                                        run_id=f"http-{rep}-{uuid.uuid4().hex[:6]}")
                cpu = server.cpu_seconds() - cpu0
                acknowledged += http["ok"]
                run["echo"], run["http"] = echo, http
                ip_best = None
                for clients in structures:
                    r = run_clients("bench.inprocess", ip_args, clients, cfg.duration)
                    acknowledged += r["committed"]
                    run[f"inproc {clients.label()}"] = r
                    if ip_best is None or r["tps"] > ip_best["tps"]:
                        ip_best = r
                    if r["failures"]:
                        log(f"inproc {kind} {clients.label()}: {r['failures']} failures {r['errors'][:2]}")
                details["runs"].append(run)
                figures["storage_tps"].append(best["tps"])
                figures["storage_cpu_ms"].append(best["client_cpu_ms_per_tx"])
                figures["echo_rps"].append(echo["rps"])
                figures["http_refunds_rps"].append(http["rps"])
                figures["http_p50_ms"].append(http["latency_ms"]["p50"])
                figures["http_p99_ms"].append(http["latency_ms"]["p99"])
                figures["http_errors"].append(http["errors"])
                figures["http_server_cpu_ms"].append(cpu * 1000 / http["ok"] if http["ok"] else None)
                figures["inproc_refunds_rps"].append(ip_best["tps"])
                figures["inproc_cpu_ms"].append(ip_best["client_cpu_ms_per_tx"])
                figures["ratio_http_storage"].append(http["rps"] / best["tps"] if best["tps"] else None)
                figures["ratio_http_echo"].append(http["rps"] / echo["rps"] if echo["rps"] else None)
                figures["ratio_inproc_storage"].append(ip_best["tps"] / best["tps"] if best["tps"] else None)
                log(f"{kind} rep {rep}: storage {best['tps']:.0f}/s ({best['clients']}), echo {echo['rps']:.0f}/s, "
                    f"http {http['rps']:.0f}/s p99 {http['latency_ms']['p99']:.0f} ms errors {http['errors']}, "
                    f"in-process {ip_best['tps']:.0f}/s")
        after = fixtures.row_counts(engine)
        stored = after["refunds"] - before["refunds"] + 1  # + the captured refund
        details["stored_vs_acknowledged"] = {
            "stored": stored, "acknowledged": acknowledged,
            # wrk drops the requests in flight when its time is up; the server still commits them
            "unacknowledged_allowed": cfg.connections * (2 * cfg.runs + 2),
            "ok": 0 <= stored - acknowledged <= cfg.connections * (2 * cfg.runs + 2)}
        details["check"] = check_in_process(db.url)
        return {"figures": figures, "details": details}
    finally:
        engine.dispose()
        db.drop()


# -- 5: growth ------------------------------------------------------------------------------------------------

def growth_database(kind: str, size: int, cfg: Config, where: Path | None = None):
    """The database with ``size`` refunds already stored: built once and cached under bench/data
    (and as ``bench_growth_*`` on PostgreSQL), then reused; ``where`` given (the smoke run): built
    there, not cached. Returns (cache key or None, fixture, the built database or None)."""
    key = dbs.schema_key(GROWTH_BUILDER)
    meta = dbs.DATA / f"{dbs.cached_name(kind, size, key)}-{kind}.json"
    if where is None and dbs.cached_exists(kind, size, key) and meta.exists():
        return key, fixtures.Fixture.from_json(json.loads(meta.read_text())), None
    log(f"building the {kind} growth database with {size} refunds" + ("" if where else " (once; cached)"))
    began = time.monotonic()
    sqlite_meta = dbs.DATA / f"{dbs.cached_name('sqlite', size, key)}-sqlite.json"
    if kind == "postgres" and where is None and size > TRANSFER_FROM and dbs.cached_exists("sqlite", size, key) \
            and sqlite_meta.exists():
        return _transferred_growth_database(size, key, sqlite_meta, meta, began)
    build_dir = where or dbs.DATA / "build"
    build_dir.mkdir(parents=True, exist_ok=True)
    db = dbs.fresh(kind, build_dir, f"build{size}")
    try:
        engine = db.engine(durable=False)
        fixture = fixtures.setup_books(engine, tokens=cfg.tokens)
        stored_invoices = max(10, size // 100)  # ~100 refunds per invoice, <= 300 units of each line
        fixtures.add_invoices(engine, fixture, stored_invoices, 1_000, prefix="OLD")
        fixtures.add_invoices(engine, fixture, 64, cfg.units_per_line, prefix="MEAS")
        fixture.invoices = [n for n in fixture.invoices if n.startswith("MEAS")]
        captured = storage.capture(engine, fixture)  # 1 refund through the service itself
        engine.dispose()
        writer = storage.Transaction(db.url, fixture.to_json(), storage.texts_of(captured), 0, "growth",
                                     invoice_prefix="OLD", durable=False)
        done, n = 1, 0
        try:
            while done < size:
                n += 1
                count = min(cfg.growth_batch, size - done)
                if not writer.batch(n, count):
                    raise RuntimeError("a cap was exceeded while building the growth database")
                done += count
                if n % 200 == 0:
                    log(f"  {done}/{size} refunds stored")
        finally:
            writer.close()
        checked = check_in_process(db.url)
        if checked.get("ok") is False:
            raise RuntimeError(f"the built growth database fails salesrefund check: {checked}")
        log(f"built in {time.monotonic() - began:.0f} s (check: {checked})")
        if where is not None:
            return None, fixture, db
        dbs.promote_to_cache(db, size, key)
        meta.write_text(json.dumps(fixture.to_json()))
        return key, fixture, None
    except BaseException:
        db.drop()
        raise


TRANSFER_FROM = 100_000  # bigger PostgreSQL growth databases are carried over from SQLite's


def _transferred_growth_database(size: int, key: str, sqlite_meta: Path, meta: Path, began: float):
    """The PostgreSQL growth database of ``size`` refunds as a copy of the cached SQLite one (the
    same rows, ids and tokens; ``dbs.transfer``), vetted by ``salesrefund check``."""
    log("  carried over from the cached SQLite database of the same size and write path")
    db = dbs.fresh("postgres", dbs.DATA / "build", f"build{size}")
    try:
        dbs.transfer(dbs.cached_path(size, key), db)
        checked = check_in_process(db.url)
        if checked.get("ok") is not True:
            raise RuntimeError(f"the carried-over growth database fails salesrefund check: {checked}")
        log(f"built in {time.monotonic() - began:.0f} s (check: {checked})")
        dbs.promote_to_cache(db, size, key)
        fixture = fixtures.Fixture.from_json(json.loads(sqlite_meta.read_text()))
        fixture.url = db.url
        meta.write_text(json.dumps(fixture.to_json()))
        return key, fixture, None
    except BaseException:
        db.drop()
        raise


def growth(kind: str, cfg: Config, where: Path, generator: str) -> dict:
    sizes = [cfg.base_size, cfg.growth_size]
    built = {size: growth_database(kind, size, cfg, where if cfg.smoke else None) for size in sizes}
    try:
        return _growth(kind, cfg, where, generator, sizes, built)
    finally:
        for _, _, scratch in built.values():
            if scratch is not None:
                scratch.drop()


def _growth(kind, cfg, where, generator, sizes, built) -> dict:
    figures: dict[str, list] = {"growth_p50_small_ms": [], "growth_p50_big_ms": [], "growth_p99_small_ms": [],
                                "growth_p99_big_ms": [], "growth_ratio_p50": [], "growth_errors": []}
    details = {"sizes": sizes, "connections": 1, "runs": []}
    for rep in range(1, cfg.runs + 1):
        p50 = {}
        for label, size in zip(("small", "big"), sizes, strict=True):
            key, fixture, scratch = built[size]
            copy = scratch or dbs.copy_of_cached(kind, size, key, where)
            if scratch is not None:
                copy = dataclasses.replace(scratch, keep=True)  # dropped with the build, after all runs
            try:
                datafile = fixture.write_data_file(where / f"data-growth-{kind}-{size}.txt")
                with Server(copy.url, where, workers=cfg.workers) as server:
                    if cfg.warmup > 0:
                        loadgen.run_load(generator, server.base_url, datafile, mode="refund", connections=1,
                                         duration=cfg.warmup, run_id=f"gwarm-{uuid.uuid4().hex[:6]}")
                    r = loadgen.run_load(generator, server.base_url, datafile, mode="refund", connections=1,
                                         duration=cfg.duration, run_id=f"growth-{uuid.uuid4().hex[:6]}")
            finally:
                copy.drop()
            p50[label] = r["latency_ms"]["p50"]
            figures[f"growth_p50_{label}_ms"].append(r["latency_ms"]["p50"])
            figures[f"growth_p99_{label}_ms"].append(r["latency_ms"]["p99"])
            figures["growth_errors"].append(r["errors"])
            details["runs"].append({"rep": rep, "size": size, "result": r})
        figures["growth_ratio_p50"].append(p50["big"] / p50["small"] if p50["small"] else None)
        log(f"{kind} growth rep {rep}: p50 {p50['small']:.1f} ms at {sizes[0]}, {p50['big']:.1f} ms at {sizes[1]}")
    return {"figures": figures, "details": details}


# -- 6: contention ----------------------------------------------------------------------------------------------

def _burst(base_url: str, token: str, invoice: str, clients: int, requests: int, deadline_s: float) -> dict:
    """``clients`` concurrent clients each sending ``requests`` refunds of 1 unit of one line of the
    same invoice, lines taken in turn, far more than it has: exactly its units may be refunded."""
    barrier = threading.Barrier(clients)
    stop_at = time.monotonic() + deadline_s
    tag = uuid.uuid4().hex[:8]  # keys never repeat across bursts (a reused key would replay or be refused)

    def client(c: int) -> list:
        seen = []
        with httpx.Client(base_url=base_url, timeout=httpx.Timeout(30.0, connect=5.0),
                          headers={"Authorization": f"Bearer {token}"}) as http:
            barrier.wait(timeout=30)
            for r in range(requests):
                if time.monotonic() > stop_at:
                    seen.append(("not sent", None))
                    continue
                body = {"invoice": invoice, "lines": [{"line": (c + r) % 3 + 1, "quantity": "1"}]}
                try:
                    resp = http.post("/v1/refunds", json=body, headers={"Idempotency-Key": f"burst-{tag}-{c}-{r}"})
                except httpx.HTTPError as error:
                    seen.append((f"transport {type(error).__name__}", None))
                    continue
                code = resp.json().get("code") if resp.status_code >= 400 else None
                seen.append((resp.status_code, code))
        return seen

    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = [o for f in [pool.submit(client, c) for c in range(clients)] for o in f.result(deadline_s + 60)]
    created = sum(1 for s, _ in outcomes if s == 201)
    capped = sum(1 for s, code in outcomes if s == 422 and code in CAP_CODES)
    other = [s for s, code in outcomes if s != 201 and not (s == 422 and code in CAP_CODES)]
    with httpx.Client(base_url=base_url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as http:
        inv = http.get(f"/v1/invoices/{invoice}").json()
    over = 0
    exhausted = True
    for line in inv["lines"]:
        sold, refunded = float(line["quantity"]), float(line["refunded_quantity"])
        over += max(0, int(round(refunded - sold)))
        exhausted &= refunded == sold
    return {"attempts": len(outcomes), "created": created, "rejected_by_cap": capped, "other": len(other),
            "other_statuses": sorted({str(s) for s in other})[:5], "over_refunded_units": over,
            "lines_exactly_exhausted": exhausted}


def contention(kind: str, cfg: Config, where: Path, generator: str) -> dict:
    db, fixture = _prepare(kind, cfg, where, "ct")
    engine = db.engine(durable=False)
    try:
        hot = fixtures.add_invoices(engine, fixture, cfg.hot_invoices, cfg.units_per_line * 4, prefix="HOT")
        burst = fixtures.add_invoices(engine, fixture, cfg.runs, cfg.burst_units, prefix="BURST")
    finally:
        engine.dispose()
    spread = [n for n in fixture.invoices if n.startswith("INV")]
    fixture.invoices = spread
    spread_file = fixture.write_data_file(where / f"data-ct-spread-{kind}.txt")
    fixture.invoices = hot
    hot_file = fixture.write_data_file(where / f"data-ct-hot-{kind}.txt")
    figures: dict[str, list] = {k: [] for k in ("contended_rps", "contended_p99_ms", "single_client_rps",
                                                "single_client_p99_ms", "uncontended_rps", "uncontended_p99_ms",
                                                "contention_p99_ratio", "contention_p99_ratio_vs_spread",
                                                "contention_errors", "over_refunded_units")}
    details: dict = {"clients": cfg.contention_clients, "hot_invoices": cfg.hot_invoices, "runs": []}
    try:
        with Server(db.url, where, workers=cfg.workers) as server:
            if cfg.warmup > 0:
                loadgen.run_load(generator, server.base_url, spread_file, mode="refund",
                                 connections=cfg.contention_clients, duration=cfg.warmup, run_id="ctwarm")
            for rep in range(1, cfg.runs + 1):
                # uncontended: one client, nothing else running; then the same clients spread over
                # distinct invoices (what sharing invoices adds); then all of them on a few invoices
                alone = loadgen.run_load(generator, server.base_url, spread_file, mode="refund", connections=1,
                                         duration=cfg.duration, run_id=f"alone-{rep}-{uuid.uuid4().hex[:6]}")
                calm = loadgen.run_load(generator, server.base_url, spread_file, mode="refund",
                                        connections=cfg.contention_clients, duration=cfg.duration,
                                        run_id=f"calm-{rep}-{uuid.uuid4().hex[:6]}")
                busy = loadgen.run_load(generator, server.base_url, hot_file, mode="refund",
                                        connections=cfg.contention_clients, duration=cfg.duration,
                                        run_id=f"hot-{rep}-{uuid.uuid4().hex[:6]}")
                last = _burst(server.base_url, fixture.tokens[0], burst[rep - 1], cfg.contention_clients,
                              cfg.burst_requests, deadline_s=max(60.0, cfg.duration * 6))
                figures["single_client_rps"].append(alone["rps"])
                figures["single_client_p99_ms"].append(alone["latency_ms"]["p99"])
                figures["uncontended_rps"].append(calm["rps"])
                figures["uncontended_p99_ms"].append(calm["latency_ms"]["p99"])
                figures["contended_rps"].append(busy["rps"])
                figures["contended_p99_ms"].append(busy["latency_ms"]["p99"])
                figures["contention_p99_ratio"].append(
                    busy["latency_ms"]["p99"] / alone["latency_ms"]["p99"] if alone["latency_ms"]["p99"] else None)
                figures["contention_p99_ratio_vs_spread"].append(
                    busy["latency_ms"]["p99"] / calm["latency_ms"]["p99"] if calm["latency_ms"]["p99"] else None)
                figures["contention_errors"].append(alone["errors"] + calm["errors"] + busy["errors"] + last["other"])
                figures["over_refunded_units"].append(last["over_refunded_units"])
                details["runs"].append({"rep": rep, "single_client": alone, "spread": calm, "contended": busy,
                                        "last_units": last})
                log(f"{kind} contention rep {rep}: {busy['rps']:.0f}/s p99 {busy['latency_ms']['p99']:.0f} ms "
                    f"(one client alone: p99 {alone['latency_ms']['p99']:.0f} ms; the same clients on distinct "
                    f"invoices: p99 {calm['latency_ms']['p99']:.0f} ms); last units: {last}")
        details["check"] = check_database(db.url, cfg.check_timeout)
        return {"figures": figures, "details": details}
    finally:
        db.drop()


# -- 7: memory --------------------------------------------------------------------------------------------------

def memory(kind: str, cfg: Config, where: Path, generator: str) -> dict:
    db, fixture = _prepare(kind, cfg, where, "mem")
    datafile = fixture.write_data_file(where / f"data-mem-{kind}.txt")
    details: dict = {"target_refunds": cfg.memory_refunds}
    try:
        with Server(db.url, where, workers=cfg.workers) as server:
            details["rss_mib_at_start"] = server.rss_mib()
            created, slices, began = 0, 0, time.monotonic()
            errors = 0
            history: list[tuple[int, float | None]] = []  # (refunds so far, worst worker RSS MiB)
            while created < cfg.memory_refunds and time.monotonic() - began < cfg.memory_max_seconds:
                slices += 1
                left = cfg.memory_max_seconds - (time.monotonic() - began)
                r = loadgen.run_load(generator, server.base_url, datafile, mode="refund", connections=cfg.connections,
                                     duration=max(1.0, min(30.0, left, cfg.duration * (1 if cfg.smoke else 3))),
                                     run_id=f"mem-{slices}-{uuid.uuid4().hex[:6]}")
                created += r["ok"]
                errors += r["errors"]
                worst_now = max(server.rss_mib()["workers"].values(), default=None)
                history.append((created, worst_now))
                if slices % 5 == 0:
                    log(f"{kind} memory: {created}/{cfg.memory_refunds} refunds, worst worker {worst_now} MiB")
            rss = server.rss_mib()
            details.update({"refunds": created, "slices": slices, "seconds": round(time.monotonic() - began, 1),
                            "errors": errors, "rss_mib_at_end": rss, "reached_target": created >= cfg.memory_refunds,
                            "rss_history": history})
        worst = max(rss["workers"].values()) if rss["workers"] else None
        log(f"{kind} memory: {created} refunds, worst worker {worst} MiB")
        return {"figures": {"memory_rss_mib_per_worker": [worst], "memory_refunds": [created]}, "details": details}
    finally:
        db.drop()


# -- 8: peer ------------------------------------------------------------------------------------------------------

def peer_compare(cfg: Config, where: Path) -> dict:
    ok, why = peer.available()
    if not ok:
        return {"skipped": why, "figures": {}}
    figures: dict[str, list] = {"peer_ours_cycles_per_s": [], "peer_theirs_cycles_per_s": [], "peer_ratio": [],
                                "peer_ours_notes_only_per_s": [], "peer_theirs_notes_only_per_s": []}
    details: dict = {"peer": why, "runs": []}
    for rep in range(1, cfg.runs + 1):
        result = {}
        for which in ("ours", "peer"):
            path = where / f"peer-{which}-{uuid.uuid4().hex[:6]}.db"
            try:
                proc = subprocess.run([sys.executable, "-m", "bench.peer", which, str(path), str(cfg.peer_seconds),
                                       str(cfg.peer_max_cycles)], capture_output=True, text=True,
                                      timeout=cfg.peer_seconds + 300, cwd=dbs.ROOT)
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
            if line is None:
                raise RuntimeError(f"peer run {which} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            result[which] = json.loads(line[len("BENCH_JSON "):])
        figures["peer_ours_cycles_per_s"].append(result["ours"]["cycles_per_s"])
        figures["peer_theirs_cycles_per_s"].append(result["peer"]["cycles_per_s"])
        figures["peer_ours_notes_only_per_s"].append(result["ours"]["credit_notes_only_per_s"])
        figures["peer_theirs_notes_only_per_s"].append(result["peer"]["credit_notes_only_per_s"])
        theirs = result["peer"]["cycles_per_s"]
        figures["peer_ratio"].append(result["ours"]["cycles_per_s"] / theirs if theirs else None)
        details["runs"].append(result)
        log(f"peer rep {rep}: ours {result['ours']['cycles_per_s']:.1f}/s, "
            f"python-accounting {theirs:.1f}/s")
    return {"figures": figures, "details": details}
