"""Closed-loop client processes for the scenarios without HTTP (storage limit, in-process refunds).

``run_clients("bench.storage", args, Clients(processes, threads), duration)`` starts ``processes``
spawned processes; each imports the module, calls ``process_setup(args)`` once (an engine, say),
then ``thread_setup(state, client_no)`` per thread (a connection, say), which returns ``one(n)``:
one transaction, returning True when it committed. Every client first runs ``warmup`` untimed
transactions; when all clients of all processes are ready, the parent sets one common start and
deadline, so slow imports on a loaded machine never eat into the measured window. Each client
stops at the deadline (or after ``max_per_client`` transactions) and reports its latencies.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import queue as queue_module
import threading
import time
import traceback
import uuid

from .common import Clients, percentile

READY_SECONDS = 180.0  # bound on imports + setup + warm-up of every client


def _client(module, state, client_no, warmup, ready, go, window, max_n, out):
    latencies, failures, errors = [], 0, []
    committed = 0
    one = None
    try:
        one = module.thread_setup(state, client_no)
        for w in range(warmup):
            committed += 1 if one(-(w + 1)) else 0
    except Exception:  # noqa: BLE001 - reported, not swallowed
        errors.append(traceback.format_exc()[-1500:])
    ready.release()
    if not go.wait(READY_SECONDS + 60) or one is None or errors:
        out.append(([], 0, errors, committed))
        return
    start_at, stop_at = window[0], window[1]
    while time.time() < start_at:
        time.sleep(0.0005)
    n = 0
    while time.time() < stop_at and n < max_n:
        n += 1
        began = time.perf_counter()
        try:
            ok = one(n)
        except Exception as error:  # noqa: BLE001 - counted as an error and reported
            failures += 1
            if len(errors) < 3:
                errors.append(f"{type(error).__name__}: {str(error)[:300]}")
            continue
        if ok:
            committed += 1
            if time.time() <= stop_at:  # only what completed inside the window counts
                latencies.append(time.perf_counter() - began)
        else:
            failures += 1
    closer = getattr(one, "close", None)
    if closer:
        closer()
    out.append((latencies, failures, errors, committed))


def _process(module_name, args, pno, threads, warmup, max_n, ready_queue, go, window, queue):
    try:
        module = importlib.import_module(module_name)
        state = module.process_setup(args)
    except Exception:  # noqa: BLE001
        ready_queue.put(pno)
        queue.put(([], 0, [traceback.format_exc()[-1500:]], 0, 0.0))
        return
    out: list = []
    ready = threading.Semaphore(0)
    pool = [threading.Thread(target=_client, args=(module, state, pno * threads + i, warmup, ready, go, window,
                                                   max_n, out)) for i in range(threads)]
    for th in pool:
        th.start()
    for _ in pool:
        ready.acquire(timeout=READY_SECONDS)
    ready_queue.put(pno)
    go.wait(READY_SECONDS + 60)
    cpu_before = _cpu()
    for th in pool:
        th.join(timeout=READY_SECONDS + 600)
    cpu = _cpu() - cpu_before  # this process's CPU (all its threads) over the measured window
    teardown = getattr(module, "process_teardown", None)
    if teardown:
        teardown(state)
    latencies, failures, errors, committed = [], 0, [], 0
    for lat, fail, err, com in out:
        latencies += lat
        failures += fail
        errors += err
        committed += com
    queue.put((latencies, failures, errors, committed, cpu))


def _cpu() -> float:
    import os
    times = os.times()
    return times.user + times.system


def run_clients(module_name: str, args: dict, clients: Clients, duration: float, *, warmup: int = 1,
                max_per_client: int = 10**9) -> dict:
    ctx = mp.get_context("spawn")
    queue, ready_queue = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    window = ctx.Array("d", [0.0, 0.0], lock=False)
    args = dict(args, run_id=f"{args.get('run_id', 'run')}-{uuid.uuid4().hex[:6]}")  # keys never repeat
    procs = [ctx.Process(target=_process, args=(module_name, args, p, clients.threads, warmup, max_per_client,
                                                ready_queue, go, window, queue)) for p in range(clients.processes)]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            ready_queue.get(timeout=READY_SECONDS)
        window[0] = time.time() + 0.2
        window[1] = window[0] + duration
        go.set()
        give_up = window[1] + 180
        while len(results) < len(procs) and time.time() < give_up:
            try:
                results.append(queue.get(timeout=1.0))
            except queue_module.Empty:
                if not any(p.is_alive() for p in procs):  # a process died without reporting
                    try:
                        results.append(queue.get(timeout=1.0))
                    except queue_module.Empty:
                        break
        if len(results) < len(procs):
            codes = [p.exitcode for p in procs]
            raise RuntimeError(f"{len(procs) - len(results)} client process(es) gave no result (exit codes {codes})")
    finally:
        go.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
    latencies, failures, errors, committed, cpu = [], 0, [], 0, 0.0
    for lat, fail, err, com, c in results:
        latencies += lat
        failures += fail
        errors += err
        committed += com
        cpu += c
    latencies.sort()
    seconds = duration
    return {"clients": clients.label(), "seconds": round(seconds, 3), "ok": len(latencies),
            "tps": len(latencies) / seconds, "failures": failures, "errors": errors[:5], "committed": committed,
            "client_cpu_ms_per_tx": round(cpu * 1000 / len(latencies), 3) if latencies else None,
            "latency_ms": {"p50": _ms(percentile(latencies, 50)), "p99": _ms(percentile(latencies, 99)),
                           "max": _ms(latencies[-1] if latencies else None)}}


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 3)
