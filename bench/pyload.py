"""A fallback HTTP load generator for machines without wrk (CI smoke): ``python -m bench.pyload
ARGS_JSON``, always a separate process from the server. Client processes with threads, each
thread one keep-alive httpx connection, bounded by time and by count. It prints the same
``BENCH_JSON`` line as ``wrk_refunds.lua``. It is much heavier than wrk (Python per request), so
on a small machine it takes CPU from the server: its figures are labelled ``loadgen=python``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import sys
import threading
import time

import httpx


def _thread(base_url, mode, run_id, tid, tokens, invoices, start_at, stop_at, out):
    rng = random.Random(tid * 7919 + int(time.time()))
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    errors = 0
    counter = (tid - 1) * 7
    path = "/bench/echo" if mode == "echo" else "/v1/refunds"
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(30.0, connect=5.0)) as client:
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            counter += 1
            invoice = invoices[counter % len(invoices)]
            body = {"invoice": invoice, "lines": [{"line": n, "quantity": str(rng.randint(1, 3))} for n in (1, 2, 3)]}
            headers = {}
            if mode != "echo":
                headers = {"Authorization": f"Bearer {tokens[counter % len(tokens)]}",
                           "Idempotency-Key": f"{run_id}-{tid}-{counter}"}
            began = time.perf_counter()
            try:
                r = client.post(path, json=body, headers=headers)
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - began) * 1e6)
            statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
    out.append((statuses, latencies, errors))


def _process(args, pno, start_at, stop_at, queue):
    out: list = []
    threads = [threading.Thread(target=_thread, args=(
        args["base_url"], args["mode"], args["run_id"], pno * args["threads"] + i + 1, args["tokens"],
        args["invoices"], start_at, stop_at, out)) for i in range(args["threads"])]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=args["duration"] + 60)
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    errors = 0
    for s, lat, e in out:
        for k, v in s.items():
            statuses[k] = statuses.get(k, 0) + v
        latencies += lat
        errors += e
    queue.put((statuses, latencies, errors))


def run(args: dict) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 1.0 + 0.3 * args["processes"]  # time for the processes to start
    stop_at = start_at + args["duration"]
    procs = [ctx.Process(target=_process, args=(args, p, start_at, stop_at, queue)) for p in range(args["processes"])]
    for p in procs:
        p.start()
    results = [queue.get(timeout=args["duration"] + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    elapsed = min(time.time(), stop_at) - start_at
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    errors = 0
    for s, lat, e in results:
        for k, v in s.items():
            statuses[k] = statuses.get(k, 0) + v
        latencies += lat
        errors += e
    latencies.sort()

    def pct(p):
        if not latencies:
            return 0
        return latencies[min(len(latencies) - 1, max(0, round(p / 100 * len(latencies) + 0.5) - 1))]

    non_2xx = sum(v for k, v in statuses.items() if not k.startswith("2"))
    return {"requests": len(latencies), "duration_us": int(max(elapsed, 1e-6) * 1e6), "bytes": 0,
            "errors": {"connect": errors, "read": 0, "write": 0, "status": non_2xx, "timeout": 0},
            "statuses": statuses,
            "latency_us": {"min": latencies[0] if latencies else 0,
                           "mean": sum(latencies) / len(latencies) if latencies else 0,
                           "max": latencies[-1] if latencies else 0, "p50": pct(50), "p90": pct(90),
                           "p99": pct(99), "p999": pct(99.9)}}


if __name__ == "__main__":
    print("BENCH_JSON " + json.dumps(run(json.loads(sys.argv[1]))), flush=True)
