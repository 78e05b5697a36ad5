"""Refunds per second through 1 and 2 server hosts on one PostgreSQL host, with one tenant and
with 8 (issue 15). Root only: the hosts are network namespaces (``tests/scale/scale_kit.py``).

    sudo uv run python -m bench.hosts [--rounds 3] [--seconds 2.5] [--clients 8]

Each of ``--clients`` threads posts 1-unit refunds with unique keys for ``--seconds``; with one
tenant all clients refund the same invoice of the same tenant, with 8 tenants each client has its
own tenant and invoice. Rounds alternate the four cases so a burst of other work weighs on all;
prints each case's rates sorted and their median as JSON. Correctness is not checked here (the
test ``tests/scale/test_several_hosts.py`` does that); speed is never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "scale"))
from scale_kit import Cluster, HostServer, Topology, run  # noqa: E402

TENANTS = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hosts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    from salesrefund.bootstrap import engine_for
    from salesrefund.service.tenants import create_tenant

    topology = Topology(["db", "s1", "s2"]).open()
    cluster, servers = None, []
    try:
        cluster = Cluster(host=topology.address("db"), port=5432, netns=topology.netns("db"),
                          allow=(topology.subnet,)).init().start()
        run(["psql", cluster.url(), "-qc", "CREATE DATABASE salesrefund"])
        url = cluster.url("salesrefund")
        engine = engine_for(url)
        tokens = [create_tenant(engine, f"bench-{i}", currency="EUR")["token"] for i in range(TENANTS)]
        engine.dispose()
        for host in ("s1", "s2"):
            servers.append(HostServer(netns=topology.netns(host), host=topology.address(host), port=8000,
                                      database_url=url, log_dir=Path(cluster.base),
                                      env={"SALESREFUND_DB_POOL": "3"}).spawn())
        for server in servers:
            server.wait_healthy()
        invoices = {token: _setup(servers[0].base_url, token) for token in tokens}

        def measure(hosts: int, tenants: int) -> float:
            stop_at = time.monotonic() + args.seconds
            counts: Counter = Counter()

            def client(number: int) -> None:
                token = tokens[number % tenants]
                sessions = [httpx.Client(base_url=s.base_url, timeout=30,
                                         headers={"Authorization": f"Bearer {token}"}) for s in servers[:hosts]]
                sent = 0
                while time.monotonic() < stop_at:
                    key = uuid.uuid4().hex
                    body = {"invoice": invoices[token], "lines": [{"line": 1, "quantity": "1"}]}
                    r = sessions[(number + sent) % hosts].post("/v1/refunds", json=body,
                                                               headers={"Idempotency-Key": key})
                    counts[r.status_code] += 1
                    sent += 1
                for session in sessions:
                    session.close()

            started = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(client, range(args.clients)))
            return round(counts[201] / (time.monotonic() - started), 1)

        cases = [(1, 1), (2, 1), (1, TENANTS), (2, TENANTS)]
        rates: dict = {case: [] for case in cases}
        for _ in range(args.rounds):
            for case in cases:
                rates[case].append(measure(*case))
        report = {"load_average_1min": round(os.getloadavg()[0], 2), "clients": args.clients,
                  "seconds": args.seconds, "cases": [
                      {"hosts": h, "tenants": n, "rates": sorted(v), "median": sorted(v)[len(v) // 2]}
                      for (h, n), v in rates.items()]}
        print(json.dumps(report, indent=2))
        return 0
    finally:
        for server in servers:
            server.stop()
        if cluster is not None:
            cluster.stop()
        topology.close()


def _setup(base_url: str, token: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api:
        api.post("/v1/customers", json={"code": "C1", "name": "C"}).raise_for_status()
        api.post("/v1/products", json={"code": "P1", "name": "P1", "stock_tracked": True,
                                       "cost": "1.00"}).raise_for_status()
        number = f"INV-{uuid.uuid4().hex[:8]}"
        api.post("/v1/invoices", json={
            "number": number, "customer": "C1", "date": "2026-01-05",
            "lines": [{"product": "P1", "quantity": "100000", "unit_price": "2.00", "tax_rate": "0"}],
            "payments": [{"method": "card", "amount": "200000.00"}]}).raise_for_status()
        return number


if __name__ == "__main__":
    sys.exit(main())
