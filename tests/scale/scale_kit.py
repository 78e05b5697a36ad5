"""Real topology for the scale tests: network namespaces joined by a bridge, private PostgreSQL
clusters (initdb + postgres in a temporary directory), streaming replicas and PgBouncer.

Everything started here stops by itself: each child gets a parent-death signal (so a killed
pytest takes its postmasters, servers and poolers with it), every wait has a deadline, and
``Topology.close`` / ``Cluster.stop`` run from ``finally`` blocks and fixture finalizers. Names
carry the pytest pid; namespaces and bridges left by a pytest that no longer runs are removed
before new ones are made.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PG_BIN = Path(os.environ.get("SALESREFUND_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PREFIX = "srs"  # every namespace, bridge and veth made here starts with it
STARTUP_SECONDS = 30.0


def is_root() -> bool:
    return os.geteuid() == 0


def postgres_available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists()


def pgbouncer_available() -> bool:
    return Path(PGBOUNCER).exists()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _service_user() -> pwd.struct_passwd | None:
    """PostgreSQL and PgBouncer refuse to run as root: as root we run them as ``postgres``."""
    if not is_root():
        return None
    return pwd.getpwnam("postgres")


def child_setup(*, netns: str | None = None, user: pwd.struct_passwd | None = None,
                deathsig: int = signal.SIGKILL):
    """A ``preexec_fn``: enter ``netns``, become ``user``, own session, and die with the parent.
    The parent-death signal follows the *thread* that forks: start long-lived children from the
    main thread."""
    parent = os.getpid()

    def setup() -> None:
        if netns is not None:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            if LIBC.setns(fd, CLONE_NEWNET) != 0:
                os._exit(121)
            os.close(fd)
        os.setsid()
        if user is not None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        LIBC.prctl(PR_SET_PDEATHSIG, int(deathsig))  # after setuid: a credential change clears it
        if os.getppid() != parent:
            os._exit(122)

    return setup


def run(cmd: list[str], *, user: pwd.struct_passwd | None = None, timeout: float = 60.0,
        check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          preexec_fn=child_setup(user=user) if user else None)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def wait_port(host: str, port: int, proc: subprocess.Popen | None = None, seconds: float = STARTUP_SECONDS,
              what: str = "server") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} not listening on {host}:{port} after {seconds}s")


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# -- PostgreSQL clusters --------------------------------------------------------------------------

class Cluster:
    """A private PostgreSQL cluster: ``initdb`` (or ``pg_basebackup`` from a primary) into a
    temporary directory and a postmaster in the foreground as our child, on ``host:port``
    (optionally inside a network namespace). ``fsync=off``: these tests kill application
    servers, never the database host, so the database's own crash durability is not under test.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None, netns: str | None = None,
                 allow: tuple[str, ...] = (), settings: dict | None = None, base: Path | None = None):
        self.host = host
        self.port = port or free_port()
        self.netns = netns
        self.allow = allow  # extra CIDRs trusted in pg_hba.conf
        self.settings = settings or {}
        self.user = _service_user()
        self.base = base or Path(tempfile.mkdtemp(prefix=f"{PREFIX}-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sock"
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "postgres.log"
        self._owned_base = base is None

    def url(self, database: str = "postgres", host: str | None = None) -> str:
        return f"postgresql://postgres@{host or self.host}:{self.port}/{database}"

    def _prepare_dirs(self) -> None:
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chmod(self.base, 0o755)
            for path in (self.base, self.sockets):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def init(self) -> "Cluster":
        self._prepare_dirs()
        run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"], user=self.user)
        with open(self.data / "pg_hba.conf", "a") as hba:
            for cidr in self.allow:
                hba.write(f"host all all {cidr} trust\nhost replication all {cidr} trust\n")
        return self

    def replica_of(self, primary: "Cluster") -> "Cluster":
        """A streaming replica: ``pg_basebackup -R`` from ``primary`` (standby.signal and
        primary_conninfo written for us)."""
        self._prepare_dirs()
        run([str(PG_BIN / "pg_basebackup"), "-h", primary.host, "-p", str(primary.port), "-U", "postgres",
             "-D", str(self.data), "-R", "-X", "stream", "--no-sync", "-c", "fast"], user=self.user, timeout=120)
        return self

    def start(self) -> "Cluster":
        options = {"listen_addresses": self.host, "port": str(self.port),
                   "unix_socket_directories": str(self.sockets), "fsync": "off", "full_page_writes": "off",
                   "shared_buffers": "32MB", "max_connections": "120", "logging_collector": "off",
                   **self.settings}
        cmd = [str(PG_BIN / "postgres"), "-D", str(self.data)]
        for key, value in options.items():
            cmd += ["-c", f"{key}={value}"]
        log = open(self.log_path, "ab")  # noqa: SIM115 - the postmaster's stderr for its life
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=child_setup(netns=self.netns, user=self.user,
                                                            deathsig=signal.SIGQUIT))
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.log_tail()}")
            done = subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)],
                                  capture_output=True, timeout=10)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres not ready after {STARTUP_SECONDS}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGINT)  # fast shutdown
        if self._owned_base:
            shutil.rmtree(self.base, ignore_errors=True)


# -- PgBouncer -------------------------------------------------------------------------------------

class PgBouncer:
    """PgBouncer in transaction pooling mode in front of ``upstream_host:upstream_port``, every
    database name passed through (``* =``); ``pool_size`` server connections per database, so
    many clients share few server connections and consecutive transactions of one client land on
    different server connections."""

    def __init__(self, upstream_host: str, upstream_port: int, *, pool_size: int = 4, port: int | None = None,
                 host: str = "127.0.0.1", netns: str | None = None):
        self.host = host
        self.netns = netns
        self.port = port or free_port()
        self.user = _service_user()
        self.base = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-pgb-"))
        self.ini = self.base / "pgbouncer.ini"
        self.log_path = self.base / "pgbouncer.log"
        self.proc: subprocess.Popen | None = None
        (self.base / "users.txt").write_text('"postgres" ""\n')
        self.ini.write_text(config_text(upstream_host, upstream_port, host=self.host, port=self.port,
                                        pool_size=pool_size, base=self.base))
        if self.user is not None:
            os.chmod(self.base, 0o755)
            for path in (self.base, self.ini, self.base / "users.txt"):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def start(self) -> "PgBouncer":
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([PGBOUNCER, str(self.ini)], stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=child_setup(netns=self.netns, user=self.user))
        log.close()
        try:
            wait_port(self.host, self.port, self.proc, what="pgbouncer")
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{self.log_tail()}") from None
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM)
        shutil.rmtree(self.base, ignore_errors=True)


def config_text(upstream_host: str, upstream_port: int, *, host: str, port: int, pool_size: int,
                base: Path) -> str:
    """The settings that matter for salesrefund (README, "Running on several machines")."""
    return f"""[databases]
* = host={upstream_host} port={upstream_port}

[pgbouncer]
listen_addr = {host}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {base / 'users.txt'}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
max_db_connections = {pool_size}
server_reset_query =
server_check_delay = 0
ignore_startup_parameters = extra_float_digits,options
query_wait_timeout = 30
pidfile = {base / 'pgbouncer.pid'}
admin_users = postgres
"""


# -- network namespaces ------------------------------------------------------------------------------

def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    return run(cmd, check=check, timeout=20)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> list[str]:
    """Remove namespaces and bridges made here by a pytest that no longer runs."""
    removed = []
    names = _ip("netns", "list", check=False).stdout.split()
    links = _ip("-o", "link", "show", check=False).stdout
    pattern = re.compile(rf"^{PREFIX}(\d+)")
    for name in names + re.findall(rf"\d+: ({PREFIX}\d+\w*)[@:]", links):
        found = pattern.match(name)
        if found and not _alive(int(found.group(1))):
            if name in names:
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _free_subnet() -> str:
    used = _ip("-o", "-4", "addr", check=False).stdout
    for third in range(64, 250):
        prefix = f"10.231.{third}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.231.x.0/24 subnet")


class Topology:
    """A bridge in the root namespace (address ``.1``: where the test's clients sit) and one
    namespace per host, each joined by a veth pair with its own address in a private /24."""

    def __init__(self, hosts: list[str]):
        remove_stale()
        tag = f"{PREFIX}{os.getpid()}"
        self.tag = tag
        self.bridge = f"{tag}br"
        self.prefix = _free_subnet()
        self.gateway = f"{self.prefix}.1"
        self.subnet = f"{self.prefix}.0/24"
        self.hosts = {name: f"{self.prefix}.{10 + i}" for i, name in enumerate(hosts)}
        self.namespaces: dict[str, str] = {}
        self.created: list[tuple[str, str]] = []

    def netns(self, host: str) -> str:
        return self.namespaces[host]

    def address(self, host: str) -> str:
        return self.hosts[host]

    def open(self) -> "Topology":
        _ip("link", "add", self.bridge, "type", "bridge")
        self.created.append(("link", self.bridge))
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, (host, address) in enumerate(self.hosts.items()):
            ns = f"{self.tag}{host}"
            _ip("netns", "add", ns)
            self.created.append(("netns", ns))
            self.namespaces[host] = ns
            outside, inside = f"{self.tag}v{i}", f"{self.tag}p{i}"
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self.created.append(("link", outside))
            _ip("link", "set", inside, "netns", ns)
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
            _ip("link", "set", "lo", "up", netns=ns)
            _ip("addr", "add", f"{address}/24", "dev", inside, netns=ns)
            _ip("link", "set", inside, "up", netns=ns)
        return self

    def link(self, host: str, up: bool) -> None:
        """Unplug (or plug back) a host's network cable: its veth inside the namespace."""
        i = list(self.hosts).index(host)
        _ip("link", "set", f"{self.tag}p{i}", "up" if up else "down", netns=self.namespaces[host])

    def close(self) -> None:
        for kind, name in reversed(self.created):
            if kind == "netns":
                _ip("netns", "del", name, check=False)
            else:
                _ip("link", "del", name, check=False)
        self.created.clear()


# -- salesrefund servers ---------------------------------------------------------------------------

class HostServer:
    """``salesrefund serve`` inside a host's namespace, killed with SIGKILL when asked."""

    def __init__(self, *, netns: str | None, host: str, port: int, database_url: str, log_dir: Path,
                 env: dict | None = None, workers: int = 1):
        self.netns, self.host, self.port = netns, host, port
        self.database_url = database_url
        self.log_dir = log_dir
        self.extra_env = env or {}
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "HostServer":
        return self.spawn().wait_healthy()

    def spawn(self) -> "HostServer":
        """Start the process (call from a thread that outlives it: the parent-death signal is
        bound to the forking thread)."""
        self.starts += 1
        env = {**os.environ, **self.extra_env}
        env.pop("SALESREFUND_DATABASE_URL", None)
        self.log_path = self.log_dir / f"serve-{self.host}-{self.starts}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115
        cmd = [sys.executable, "-c", "from salesrefund.cli import main; main()", "serve",
               "--db", self.database_url, "--host", self.host, "--port", str(self.port),
               "--workers", str(self.workers), "--no-access-log"]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=child_setup(netns=self.netns))
        log.close()
        return self

    def wait_healthy(self) -> "HostServer":
        import httpx

        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"serve not healthy after {STARTUP_SECONDS}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole server (its session: the uvicorn process and any workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self.kill()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# -- the command line: the existing suite through PgBouncer ----------------------------------------

def _with_pgbouncer(argv: list[str]) -> int:
    """``python tests/scale/scale_kit.py with-pgbouncer [--upstream HOST:PORT] [--database DB]
    [--pool-size N] -- COMMAND...``: PgBouncer (transaction mode) in front of the upstream, then
    COMMAND with ``SALESREFUND_TEST_DATABASE_URL`` pointing through it and
    ``SALESREFUND_DB_POOLER=transaction``; PgBouncer stops when COMMAND ends."""
    import argparse

    parser = argparse.ArgumentParser(prog="scale_kit.py with-pgbouncer")
    parser.add_argument("--upstream", default="127.0.0.1:5432")
    parser.add_argument("--database", default="test")
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    host, port = args.upstream.rsplit(":", 1)
    bouncer = PgBouncer(host, int(port), pool_size=args.pool_size).start()
    try:
        env = {**os.environ, "SALESREFUND_TEST_DATABASE_URL": bouncer.url(args.database),
               "SALESREFUND_DB_POOLER": "transaction"}
        print(f"pgbouncer (transaction mode, {args.pool_size} server connections) on "
              f"{bouncer.host}:{bouncer.port} -> {args.upstream}", flush=True)
        return subprocess.run(command, env=env).returncode
    finally:
        bouncer.stop()


if __name__ == "__main__":
    if sys.argv[1:2] != ["with-pgbouncer"]:
        sys.exit("usage: scale_kit.py with-pgbouncer [--upstream HOST:PORT] [--database DB] -- COMMAND...")
    sys.exit(_with_pgbouncer(sys.argv[2:]))
