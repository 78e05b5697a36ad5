"""The server under test: ``salesrefund serve --workers N --no-access-log`` on 127.0.0.1 and a free
port, with the benchmark-only echo route mounted (``SALESREFUND_BENCH_ECHO=1``). Every wait has a
deadline.

``variant="uvicorn"`` (``--server uvicorn``) runs the same app with uvicorn's own command line
instead, the control for the TCP_NODELAY fix in ``salesrefund.http.serving`` (with several workers
uvicorn as-is leaves Nagle's algorithm on)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .common import children, cpu_seconds, rss_kib

HOST = "127.0.0.1"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url: str, log_dir: Path, *, workers: int = 1, extra_env: dict | None = None,
                 variant: str | None = None):
        self.variant = variant or os.environ.get("SALESREFUND_BENCH_SERVER", "salesrefund")  # or uvicorn
        self.database_url = database_url
        self.log_dir = log_dir
        self.workers = workers
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "Server":
        self.port = free_port()
        env = dict(os.environ)
        env.pop("SALESREFUND_TEST_UNGUARDED_CAPS", None)  # never the test-only control build
        env["SALESREFUND_DATABASE_URL"] = self.database_url
        env["SALESREFUND_BENCH_ECHO"] = "1"
        env.update(self.extra_env)
        self.log_path = self.log_dir / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - open for the life of the process
        common = ["--host", HOST, "--port", str(self.port), "--workers", str(self.workers)]
        if self.variant == "uvicorn":
            cmd = [sys.executable, "-m", "uvicorn", "salesrefund.bootstrap:app_from_environment", "--factory",
                   "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5", *common]
        else:
            cmd = [sys.executable, "-c", "from salesrefund.cli import main; main()", "serve",
                   "--db", self.database_url, "--no-access-log", *common]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                     cwd=Path(__file__).resolve().parent.parent)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        last = None
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    health = client.get(f"{self.base_url}/healthz")
                    echo = client.post(f"{self.base_url}/bench/echo", json={"invoice": "x", "lines": []})
                    if health.status_code == 200 and echo.status_code == 200:
                        if self.workers > 1:
                            self._wait_workers(deadline)
                        return
                    last = f"healthz {health.status_code}, echo {echo.status_code}"
                except httpx.TransportError as error:
                    last = repr(error)
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {STARTUP_SECONDS}s (last: {last}):\n{self.log_tail()}")

    def _wait_workers(self, deadline: float) -> None:
        """With --workers, uvicorn's supervisor forks the workers: wait until all of them answer."""
        while time.monotonic() < deadline and len(self.worker_pids()) < self.workers:
            time.sleep(0.1)
        time.sleep(0.5)  # let the last worker finish importing the app

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the server itself with one worker.
        (uvicorn >= 0.30 may put a resource-tracker child beside the workers: only python
        processes running uvicorn's worker entry are counted, which are all of its children
        except multiprocessing helpers.)"""
        if self.proc is None:
            return []
        if self.workers == 1:
            return [self.proc.pid]
        pids = []
        for pid in children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "resource_tracker" in cmdline or "semaphore_tracker" in cmdline:
                continue
            pids.append(pid)
        return pids

    def rss_mib(self) -> dict:
        workers = {pid: rss_kib(pid) for pid in self.worker_pids()}
        out = {"workers": {str(p): round(k / 1024, 1) for p, k in workers.items() if k is not None}}
        if self.workers > 1 and self.proc is not None:
            sup = rss_kib(self.proc.pid)
            out["supervisor"] = round(sup / 1024, 1) if sup else None
        return out

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) or 0.0 for pid in self.worker_pids())

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # our own session: the server and its workers
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
