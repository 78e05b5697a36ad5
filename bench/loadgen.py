"""Offering HTTP load from a separate process: wrk (preferred) or the Python fallback."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .common import BENCH, ROOT

WRK_SCRIPT = BENCH / "wrk_refunds.lua"
WRK_HINT = "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`; " \
           "or pass --loadgen python (heavier, less accurate)"


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def choose(requested: str, smoke: bool) -> str:
    """``auto``: wrk when installed; without it the smoke run falls back to Python, a full run stops
    and says how to get wrk."""
    if requested == "python":
        return "python"
    if have_wrk():
        return "wrk"
    if requested == "wrk" or not smoke:
        raise SystemExit(f"bench: {WRK_HINT}")
    return "python"


def run_load(generator: str, base_url: str, datafile: Path, *, mode: str, connections: int, duration: float,
             run_id: str, wrk_threads: int | None = None) -> dict:
    """Offer ``connections`` closed-loop connections for ``duration`` seconds; return
    throughput, statuses and latency (ms)."""
    expected = "200" if mode == "echo" else "201"
    if generator == "wrk":
        raw = _wrk(base_url, datafile, mode=mode, connections=connections, duration=duration, run_id=run_id,
                   threads=wrk_threads)
    else:
        raw = _python(base_url, datafile, mode=mode, connections=connections, duration=duration, run_id=run_id)
    seconds = raw["duration_us"] / 1e6
    statuses = {str(k): v for k, v in raw.get("statuses", {}).items()}
    ok = statuses.get(expected, 0)
    socket_errors = sum(raw["errors"][k] for k in ("connect", "read", "write", "timeout"))
    unexpected = sum(v for k, v in statuses.items() if k != expected)
    lat = raw["latency_us"]
    return {"generator": generator, "mode": mode, "connections": connections, "seconds": round(seconds, 3),
            "requests": raw["requests"], "ok": ok, "rps": ok / seconds if seconds > 0 else 0.0,
            "statuses": statuses, "errors": unexpected + socket_errors, "socket_errors": raw["errors"],
            "latency_ms": {k: round(lat[k] / 1000, 3) for k in ("p50", "p90", "p99", "p999", "max", "mean")}}


def _wrk(base_url, datafile, *, mode, connections, duration, run_id, threads) -> dict:
    threads = max(1, min(connections, threads or os.cpu_count() or 1))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, int(math.ceil(duration)))}s",
           "--timeout", "30s", "--latency", "-s", str(WRK_SCRIPT), base_url, "--",
           str(datafile), mode, run_id]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 90)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk gave no result (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def _python(base_url, datafile, *, mode, connections, duration, run_id) -> dict:
    tokens, invoices = [], []
    for line in Path(datafile).read_text().splitlines():
        kind, _, value = line.partition(" ")
        (tokens if kind == "T" else invoices).append(value)
    processes = max(1, min(connections, os.cpu_count() or 1))
    threads = max(1, connections // processes)
    args = {"base_url": base_url, "mode": mode, "run_id": run_id, "tokens": tokens, "invoices": invoices,
            "processes": processes, "threads": threads, "duration": duration}
    proc = subprocess.run([sys.executable, "-m", "bench.pyload", json.dumps(args)], capture_output=True, text=True,
                          timeout=duration + 180, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"python load generator failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
