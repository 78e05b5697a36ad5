"""The webhook dispatcher: delivers the outbox's pending deliveries (issue 13).

One loop, run inside every ``salesrefund serve`` worker and by ``salesrefund dispatch`` as a
process of its own; any number of them may run against one database.

- **Claim, then send, then finish.** A short transaction claims a batch of due deliveries: it
  raises each one's attempt count and writes a lease (a random token and an expiry). On
  PostgreSQL the rows are taken with ``FOR UPDATE SKIP LOCKED``, on SQLite under the write lock
  (``BEGIN IMMEDIATE``), so no two dispatchers ever claim the same attempt. The HTTP request is
  sent outside any transaction; its result is written only if the lease is still this
  dispatcher's. A dispatcher killed mid-delivery leaves a lease that expires: another dispatcher
  (or the same one restarted) claims the delivery again as a new attempt. At least once.
- **In order per subject.** A delivery is due only when no earlier delivery of the same subject
  (``refund:<id>``, ``invoice:<number>``) to the same endpoint is still pending, so a receiver
  sees ``refund.created`` before ``refund.posted`` before ``refund.voided``. A claimed batch thus
  holds at most one delivery per subject and endpoint, and is sent in parallel (``parallel``), so
  an endpoint that hangs until the timeout does not hold up the others.
- **Retries.** Anything but a 2xx within the timeout is a failure. The next attempt waits
  ``base * 2**(attempts-1)`` (capped, with up to 10 % jitter); a delivery still failing once
  ``retry_for`` (24 h) has passed since it was queued becomes a dead letter.
- **SSRF.** The URL's host is resolved and every address checked (no loopback, private,
  link-local/metadata, shared, reserved or multicast address unless ``allow_private``); the
  connection goes to the address that was checked, so a DNS answer cannot change in between.
  Redirects are not followed.
- **Signature.** ``Salesrefund-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import http.client
import ipaddress
import logging
import os
import random
import socket
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from .. import __version__
from ..store.engine import Engine
from .uow import Clock, UnitOfWork

log = logging.getLogger("salesrefund.dispatch")

ENV_ALLOW_PRIVATE = "SALESREFUND_WEBHOOK_ALLOW_PRIVATE"
ENV_TIMEOUT = "SALESREFUND_WEBHOOK_TIMEOUT"
ENV_LEASE = "SALESREFUND_WEBHOOK_LEASE"
ENV_POLL = "SALESREFUND_WEBHOOK_POLL"
ENV_BACKOFF = "SALESREFUND_WEBHOOK_BACKOFF"
SIGNATURE_HEADER = "Salesrefund-Signature"

@dataclasses.dataclass(frozen=True)
class DispatchSettings:
    allow_private: bool = False  # loopback and private addresses allowed (tests, an internal network)
    timeout: float = 10.0  # seconds for one HTTP attempt (connect and answer)
    lease: float = 60.0  # seconds a claim lasts; longer than the timeout, so a live attempt keeps it
    poll: float = 1.0  # seconds between looks when nothing was due
    batch: int = 20
    parallel: int = 8  # attempts of one batch sent at once: a slow endpoint does not hold up the others
    backoff_base: float = 30.0  # seconds before the second attempt; doubles each time
    backoff_max: float = 6 * 3600.0
    retry_for: timedelta = timedelta(hours=24)  # then a dead letter
    tenant_id: int | None = None  # deliver one tenant's events only (a dedicated dispatcher; the tests)

    @classmethod
    def from_environment(cls) -> "DispatchSettings":
        env = os.environ
        return cls(allow_private=env.get(ENV_ALLOW_PRIVATE) == "1",
                   timeout=float(env.get(ENV_TIMEOUT, cls.timeout)),
                   lease=float(env.get(ENV_LEASE, max(cls.lease, 3 * float(env.get(ENV_TIMEOUT, cls.timeout))))),
                   poll=float(env.get(ENV_POLL, cls.poll)),
                   backoff_base=float(env.get(ENV_BACKOFF, cls.backoff_base)))


# -- SSRF ------------------------------------------------------------------------------------

class UnsafeUrl(ValueError):
    """A webhook URL the server refuses to call."""


def check_url(url: str, *, allow_private: bool) -> list[str]:
    """The addresses ``url``'s host resolves to, all of them safe to connect to; else ``UnsafeUrl``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must be http or https")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise UnsafeUrl(f"the host {parts.hostname} cannot be resolved")
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            if not ip.is_global or ip.is_multicast:
                raise UnsafeUrl(f"the host {parts.hostname} resolves to {address}, a loopback, private, "
                                "link-local or reserved address")
    return addresses


# -- signing ------------------------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (README "Operating"): the timestamp within ``tolerance`` seconds of
    now, and one of the ``v1`` signatures equal, compared in constant time."""
    fields = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, _, value in fields if key == "v1")


# -- sending ------------------------------------------------------------------------------------

class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the host name for SNI and the certificate."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def send(url: str, body: bytes, headers: dict, *, timeout: float, allow_private: bool) -> tuple[int | None, str | None]:
    """POST ``body``; (status, None) when answered, (None, why) when not."""
    try:
        address = check_url(url, allow_private=allow_private)[0]
    except UnsafeUrl as unsafe:
        return None, f"refused: {unsafe}"
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn = _PinnedHTTPS(parts.hostname, address, port, timeout)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    try:
        conn.request("POST", path, body=body, headers={"Host": host, **headers})
        response = conn.getresponse()
        response.read(65536)
        return response.status, None
    except socket.timeout:
        return None, f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}"[:500]
    finally:
        conn.close()


# -- the dispatcher ------------------------------------------------------------------------------

@dataclasses.dataclass
class Claimed:
    id: int
    token: str
    attempt: int
    created_at: datetime
    url: str
    secret: str
    event: str
    type: str
    body: bytes
    tenant_id: int | None = None  # the delivery's tenant (its updates name it)


class Dispatcher:
    def __init__(self, engine: Engine, clock: Clock | None = None, settings: DispatchSettings | None = None):
        self.engine = engine
        self.clock = clock or Clock()
        self.settings = settings or DispatchSettings()
        self.delivered = 0
        self._count = threading.Lock()

    def run_once(self) -> int:
        """Claim what is due, deliver it, record the results; how many attempts were made."""
        claimed = self.claim()
        if len(claimed) > 1 and self.settings.parallel > 1:  # a batch never holds two of one subject and endpoint
            with ThreadPoolExecutor(min(len(claimed), self.settings.parallel)) as pool:
                list(pool.map(self.deliver, claimed))
        else:
            for item in claimed:
                self.deliver(item)
        return len(claimed)

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; database or network trouble is logged and retried."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("webhook dispatch failed; retrying")
                busy = 0
            if not busy:
                stop.wait(self.settings.poll)

    def claim(self) -> list[Claimed]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease)
        if not self._anything_due(now):  # a read first: an idle dispatcher never takes SQLite's write lock
            return []
        with UnitOfWork(self.engine, None) as uow:  # SQLite: BEGIN IMMEDIATE, the write lock up front
            rows = uow.deliveries(self.settings.tenant_id).claim(
                now, lease_until, self.settings.batch, lambda: str(uuid.uuid4()))
            uow.commit()
        return [Claimed(id=row["id"], token=row["token"], attempt=row["attempt"], created_at=_aware(row["created_at"]),
                        url=row["url"], secret=row["secret"], event=row["event"], type=row["type"],
                        body=row["body"].encode(), tenant_id=row["tenant_id"]) for row in rows]

    def _anything_due(self, now: datetime) -> bool:
        with UnitOfWork(self.engine, None, write=False) as uow:
            return uow.deliveries(self.settings.tenant_id).anything_due(now)

    def deliver(self, item: Claimed) -> bool:
        headers = {"Content-Type": "application/json", "User-Agent": f"salesrefund-webhooks/{__version__}",
                   SIGNATURE_HEADER: signature_header(item.secret, item.body),
                   "Salesrefund-Event-Id": item.event, "Salesrefund-Event-Type": item.type,
                   "Salesrefund-Delivery-Attempt": str(item.attempt)}
        started = time.monotonic()
        status, error = send(item.url, item.body, headers, timeout=self.settings.timeout,
                             allow_private=self.settings.allow_private)
        ok = status is not None and 200 <= status < 300
        _observe(item, ok, status, time.monotonic() - started)
        self.finish(item, ok, status, error or (None if ok else f"HTTP {status}"))
        return ok

    def finish(self, item: Claimed, ok: bool, status: int | None, error: str | None) -> bool:
        """Record an attempt's result if the lease is still ours; False when it was lost."""
        now = self.clock.now()
        if ok:
            values = dict(state="delivered", delivered_at=now)
        elif now - item.created_at >= self.settings.retry_for:
            values = dict(state="dead")
        else:
            delay = min(self.settings.backoff_base * 2 ** (item.attempt - 1), self.settings.backoff_max)
            values = dict(next_attempt_at=now + timedelta(seconds=delay * (1 + random.random() / 10)))
        with UnitOfWork(self.engine, None) as uow:
            done = uow.deliveries().finish(item.tenant_id, item.id, item.token, last_status=status,
                                               last_error=error, **values)
            uow.commit()
        if done and values.get("state") == "dead":
            log.warning("webhook delivery %s of %s is a dead letter after %s attempts: %s",
                        item.id, item.event, item.attempt, error)
        with self._count:
            self.delivered += bool(ok and done)
        return done


ATTEMPT_OBSERVERS: list = []  # told of every attempt: (event type, delivered?, seconds) (the metrics)


def _observe(item: Claimed, ok: bool, status: int | None, seconds: float) -> None:
    for observe in ATTEMPT_OBSERVERS:
        observe(item.type, ok, seconds)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def start_in_thread(engine: Engine, settings: DispatchSettings | None = None) -> tuple[threading.Thread, threading.Event]:
    """The dispatcher as a daemon thread (inside ``serve``); set the event to stop it."""
    stop = threading.Event()
    dispatcher = Dispatcher(engine, settings=settings or DispatchSettings.from_environment())
    thread = threading.Thread(target=dispatcher.run, args=(stop,), name="salesrefund-dispatch", daemon=True)
    thread.start()
    return thread, stop
