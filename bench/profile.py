"""Where a refund's time goes: ``uv run --group bench python -m bench.profile [--engine sqlite]``.

1. In process, one client: N refunds of the workload with the time split into the statements'
   database time (``before/after_cursor_execute``), the commit (the fsync), and the rest (Python:
   validation, SQLAlchemy statement building, planning, views, JSON), CPU time beside wall time;
   then a pyinstrument profile of the same loop (text tree in bench/results/).
2. Over HTTP: the server under wrk load, its workers sampled by py-spy (CPU samples, idle threads
   left out), summarised by library (where the server's CPU goes per refund) and by the hottest
   functions; the raw samples are kept for a flame graph (bench/results/).

Both tools are benchmark dependencies (``uv sync --group bench``); a missing one is skipped.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import event

from . import dbs, fixtures, loadgen
from .common import RESULTS, log, write_json
from .server import Server

CATEGORIES = [  # first match from the innermost frame outwards
    ("sqlite3 / psycopg (driver, incl. commit)", ("sqlite3", "psycopg")),
    ("sqlalchemy", ("sqlalchemy",)),
    ("pydantic", ("pydantic",)),
    ("starlette / fastapi", ("starlette", "fastapi")),
    ("uvicorn / h11 / asyncio", ("uvicorn", "h11", "asyncio", "selectors")),
    ("salesrefund", ("salesrefund",)),
    ("json / uuid / datetime / hashlib", ("json", "uuid", "datetime", "hashlib", "_strptime", "zoneinfo")),
]


def in_process(kind: str, refunds: int, where: Path) -> dict:
    db = dbs.fresh(kind, where, "prof")
    engine = db.engine()
    try:
        fixture = fixtures.setup_books(engine, tokens=1)
        fixtures.add_invoices(engine, fixture, 16, 20_000)
        runner = fixtures.InProcess(engine, fixture)
        rng = random.Random(1)
        for i in range(20):  # warm-up: statement caches, pools
            runner.refund(fixtures.refund_body(fixture.invoices[i % 16], rng), f"warm-{i}")

        timing = {"statements": 0.0, "statement_count": 0, "commit": 0.0}
        started: dict = {}

        def before(conn, cursor, statement, parameters, context, executemany):
            started[id(cursor)] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            timing["statements"] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())
            timing["statement_count"] += 1

        from salesrefund.service import uow
        original_commit = uow.UnitOfWork.commit

        def timed_commit(self):
            began = time.perf_counter()
            try:
                return original_commit(self)
            finally:
                timing["commit"] += time.perf_counter() - began

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        uow.UnitOfWork.commit = timed_commit
        try:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for i in range(refunds):
                response = runner.refund(fixtures.refund_body(fixture.invoices[i % 16], rng), f"t-{i}")
                assert response.status == 201, response.body[:200]
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        finally:
            uow.UnitOfWork.commit = original_commit
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
        per = lambda x: round(x * 1000 / refunds, 3)  # noqa: E731
        split = {"wall_ms": per(wall), "cpu_ms": per(cpu), "statements_ms": per(timing["statements"]),
                 "statements_per_refund": timing["statement_count"] / refunds, "commit_ms": per(timing["commit"]),
                 "python_rest_ms": per(wall - timing["statements"] - timing["commit"])}
        log(f"{kind} in process: {split}")

        tree = None
        try:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for i in range(refunds):
                runner.refund(fixtures.refund_body(fixture.invoices[i % 16], rng), f"p-{i}")
            profiler.stop()
            tree = RESULTS / f"profile-{kind}-inprocess.txt"
            tree.parent.mkdir(parents=True, exist_ok=True)
            tree.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
            (RESULTS / f"profile-{kind}-inprocess.html").write_text(profiler.output_html())
        except ImportError:
            log("pyinstrument is not installed (uv sync --group bench): no profile tree")
        return {"split_per_refund": split, "pyinstrument": str(tree) if tree else None}
    finally:
        engine.dispose()
        db.drop()


def over_http(kind: str, seconds: float, connections: int, workers: int, where: Path, variant: str) -> dict:
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        return {"skipped": "py-spy is not installed (uv sync --group bench)"}
    db = dbs.fresh(kind, where, "profhttp")
    engine = db.engine()
    try:
        fixture = fixtures.setup_books(engine, tokens=16)
        fixtures.add_invoices(engine, fixture, 32, 20_000)
    finally:
        engine.dispose()
    datafile = fixture.write_data_file(where / "data-prof.txt")
    generator = "wrk" if loadgen.have_wrk() else "python"
    try:
        with Server(db.url, where, workers=workers, variant=variant) as server:
            loadgen.run_load(generator, server.base_url, datafile, mode="refund", connections=connections,
                             duration=2, run_id=f"pwarm-{uuid.uuid4().hex[:6]}")
            raws: dict[str, list[Path]] = {"threads": [], "gil": []}
            procs = []
            for pid in server.worker_pids():
                for view, extra in (("threads", []), ("gil", ["--gil"])):
                    out = where / f"pyspy-{view}-{pid}.txt"
                    raws[view].append(out)
                    procs.append(subprocess.Popen(
                        [pyspy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
                         "--format", "raw", "--nonblocking", *extra, "-o", str(out)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            time.sleep(0.5)
            load = loadgen.run_load(generator, server.base_url, datafile, mode="refund", connections=connections,
                                    duration=seconds, run_id=f"prof-{uuid.uuid4().hex[:6]}")
            for p in procs:
                try:
                    p.wait(timeout=seconds + 60)
                except subprocess.TimeoutExpired:
                    p.kill()
        result = {"load": {k: load[k] for k in ("rps", "ok", "errors", "latency_ms")}, "server": variant,
                  "workers": workers, "connections": connections}
        for view, files in raws.items():
            samples: collections.Counter = collections.Counter()
            for raw in files:
                if raw.exists():
                    for line in raw.read_text().splitlines():
                        stack, _, count = line.rpartition(" ")
                        if count.isdigit():
                            samples[stack] += int(count)
            keep = RESULTS / f"profile-{kind}-http-pyspy-{view}.txt"
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_text("\n".join(f"{stack} {n}" for stack, n in samples.most_common()))
            # threads: where the request threads spend their time (waits included);
            # gil: only samples holding the GIL, i.e. where the Python CPU goes
            result[view] = {**summarize(samples, load["ok"]), "raw_samples": str(keep)}
        return result
    finally:
        db.drop()


IDLE_LEAVES = ("Condition.wait", "EpollSelector.select", "Event.wait", "BaseSelectorEventLoop._write_to_self",
               "BaseSelectorEventLoop._read_from_self", "Server.on_tick", "SimpleQueue.get", "Queue.get")
DRIVER_LEAVES = ("DefaultDialect.do_execute", "DefaultDialect.do_executemany", "DefaultDialect.do_commit",
                 "DefaultDialect.do_rollback", "DefaultDialect.do_execute_no_params")


def _names(frames: list[str]) -> list[str]:
    return [f.split(" (")[0] for f in frames]


def phase_of(frames: list[str]) -> str:
    """One phase per sample (so they add up to 100 %), from the refund path's own frames."""
    names = _names(frames)
    has = lambda *keys: any(k in n for n in names for k in keys)  # noqa: E731
    if names and names[-1] in IDLE_LEAVES and not has("salesrefund", "RefundService", "authenticate"):
        return "idle: event loop and threadpool waiting"
    if has("limits.hit", "hit", "_count") and has("_count"):
        return ("rate-limit counter: waiting for the write lock" if has("_on_begin")
                else "rate-limit counter: its own write transaction")
    if has("authenticate"):
        return "authentication: token lookup"
    if has("RefundService"):
        if has("_on_begin"):
            return "refund: waiting for the write lock (BEGIN IMMEDIATE)"
        if has("UnitOfWork.commit"):
            return "refund: commit (WAL write + fsync)"
        if has("refund_view"):
            return "refund: reading the refund back for the response"
        if has("RefundService._basis"):
            return "refund: reading the invoice, tenant, methods (basis)"
        if has("RefundService._post"):
            return "refund: posting writes (caps, number, entry, stock)"
        if has("RefundService._write_lines"):
            return "refund: writing lines, payments, taxes"
        return "refund: the rest (idempotency, header, planning, audit)"
    if has("issue_refund", "RefundIn", "model_validate", "serialize_response", "solve_dependencies",
           "request_body_to_args", "ExactJSONRequest.json", "loads_exact"):
        return "request: body parsing and validation (fastapi, pydantic, exact JSON)"
    files = [f.split(" (")[-1] for f in frames]
    if any(f.startswith(("starlette/", "fastapi/", "anyio/")) for f in files[-3:]):
        return "request: routing, middleware, threadpool hand-off (starlette, fastapi, anyio)"
    if any(f.startswith(("uvicorn/", "h11/", "asyncio/", "selectors")) for f in files[-3:]):
        return "HTTP: parsing and writing (uvicorn, h11, asyncio)"
    return "other"


def library_of(frames: list[str]) -> str:
    leaf = frames[-1] if frames else "?"
    name = leaf.split(" (")[0]
    if name in DRIVER_LEAVES:
        return "inside the database driver (statements, lock waits, commit)"
    if name in IDLE_LEAVES:
        return "idle waits"
    path = leaf.split(" (")[-1].rstrip(")")
    package = path.split("/")[0].split(".py")[0].split(":")[0]
    return {"pydantic_core": "pydantic", "anyio": "starlette/fastapi/anyio", "starlette": "starlette/fastapi/anyio",
            "fastapi": "starlette/fastapi/anyio", "h11": "uvicorn/h11/asyncio", "uvicorn": "uvicorn/h11/asyncio",
            "asyncio": "uvicorn/h11/asyncio", "selectors": "uvicorn/h11/asyncio"}.get(package, package)


def summarize(samples: collections.Counter, refunds: int) -> dict:
    total = sum(samples.values()) or 1
    phases: collections.Counter = collections.Counter()
    libraries: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    for stack, n in samples.items():
        frames = stack.split(";")
        phases[phase_of(frames)] += n
        libraries[library_of(frames)] += n
        leaves[frames[-1]] += n
    pct = lambda c, k=None: {a: round(b * 100 / total, 1) for a, b in c.most_common(k)}  # noqa: E731
    return {"samples": total, "refunds_during_sampling": refunds, "phases_pct": pct(phases),
            "innermost_library_pct": pct(libraries), "hottest_leaf_functions_pct": pct(leaves, 15)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--refunds", type=int, default=300)
    p.add_argument("--http-seconds", type=float, default=15.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--server", choices=["salesrefund", "uvicorn"], default="salesrefund")
    p.add_argument("--summarize", type=Path, help="only re-summarise kept py-spy raw samples and exit")
    args = p.parse_args(argv)
    if args.summarize:
        counts: collections.Counter = collections.Counter()
        for line in args.summarize.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if n.isdigit():
                counts[stack] += int(n)
        print(json.dumps(summarize(counts, 0), indent=2))
        return 0
    where = dbs.workdir("profile-" + uuid.uuid4().hex[:6])
    try:
        result = {"engine": args.engine, "in_process": in_process(args.engine, args.refunds, where),
                  "over_http": over_http(args.engine, args.http_seconds, args.connections, args.workers, where,
                                         args.server)}
    finally:
        shutil.rmtree(where, ignore_errors=True)
    out = RESULTS / f"profile-{args.engine}.json"
    write_json(out, result)
    print(json.dumps(result, indent=2))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
