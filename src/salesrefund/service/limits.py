"""The per-credential rate limit (issue 4): at most ``PER_MINUTE`` requests a credential in each
one-minute window, counted in the database so that every server process and machine shares the
count. Over the limit: ``rate_limited`` (429) with ``Retry-After`` = seconds to the next window.

Counting is in batches (issue 14: a busy credential must not cost a write per request): each
process counts a credential's requests itself and adds them to the shared count every
``FLUSH_REQUESTS`` requests or ``FLUSH_SECONDS``, whichever comes first, and at every request once
its own view of the count has reached ``NEAR_LIMIT`` of the limit, so the limit is exact where it
matters; below that, another process learns of a process's requests up to that much later (a
credential spread over P processes may get up to P × ``FLUSH_REQUESTS`` requests past the limit
in a window in the worst case, never in one process). The first request of a window is always
counted in the database. Each flush is one upsert in its own small transaction. The count needs no
crash durability, so it skips the fsync: on PostgreSQL ``synchronous_commit = off`` for that
transaction; on SQLite the counts live in a file of their own beside the database
(``<database>-counters``, ``synchronous=OFF``), so that counting never queues behind refunds for
the database's one write lock (issue 5). ``SALESREFUND_RATE_LIMIT`` sets the limit per minute
(default 6000 = 100 requests a second); 0 turns it off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..store.engine import DBAPIError, Engine

from ..domain.errors import reject
from ..store import credentials as store
from .uow import Clock, unwritable

log = logging.getLogger("salesrefund")

WINDOW_SECONDS = 60
PER_MINUTE = int(os.environ.get("SALESREFUND_RATE_LIMIT", "6000"))

FLUSH_REQUESTS = 25
FLUSH_SECONDS = 0.5
NEAR_LIMIT = 0.9


class _Tally:
    """A process's view of one credential's count in one window: the shared count when last
    added to (``total``), the requests since (``pending``), and when that was (monotonic)."""

    __slots__ = ("window", "total", "pending", "flushed_at")

    def __init__(self, window: int):
        self.window, self.total, self.pending, self.flushed_at = window, 0, 0, None


_tallies: dict[tuple[str, int], _Tally] = {}
_tallies_lock = threading.Lock()


def _pending_to_flush(engine: Engine, credential_id: int, window: int, limit: int) -> tuple[int, int]:
    """Count one request in the process; (requests to add to the shared count now, or 0; the
    process's view of the count)."""
    key = (str(engine.url), credential_id)
    now = time.monotonic()
    with _tallies_lock:
        tally = _tallies.get(key)
        if tally is None or tally.window != window:
            tally = _tallies[key] = _Tally(window)
        tally.pending += 1
        seen = tally.total + tally.pending
        due = (tally.flushed_at is None or tally.pending >= FLUSH_REQUESTS
               or now - tally.flushed_at >= FLUSH_SECONDS or seen >= limit * NEAR_LIMIT)
        if not due:
            return 0, seen
        n, tally.pending, tally.flushed_at = tally.pending, 0, now
        return n, seen


def _flushed(engine: Engine, credential_id: int, window: int, total: int) -> None:
    with _tallies_lock:
        tally = _tallies.get((str(engine.url), credential_id))
        if tally is not None and tally.window == window:
            tally.total = max(tally.total, total)


def hit(engine: Engine, credential_id: int, clock: Clock | None = None, limit: int | None = None) -> None:
    """Count one request of ``credential_id``; raise ``rate_limited`` when over the limit."""
    limit = PER_MINUTE if limit is None else limit
    if limit <= 0:
        return
    now = int((clock or Clock()).now().timestamp())
    window = now // WINDOW_SECONDS
    n, count = _pending_to_flush(engine, credential_id, window, limit)
    try:
        if n:
            count = _count(counts_engine(engine), credential_id, window, n)
            _flushed(engine, credential_id, window, count)
    except (DBAPIError, OSError) as error:
        # Counting must not stop the request when the counts cannot be written (a read-only data
        # directory, a full disk: issue 9, item 14): reads go on, writes get their own 503.
        if isinstance(error, DBAPIError) and not unwritable(error):
            raise
        log.warning("rate limit not counted: %s", error)
        return
    if count > limit:
        error = reject("rate_limited", "/headers/Authorization",
                       "too many requests for this credential; retry in {seconds} s",
                       seconds=WINDOW_SECONDS - now % WINDOW_SECONDS)
        error.retry_after = WINDOW_SECONDS - now % WINDOW_SECONDS
        raise error


# The SQL lives in the store (``store.credentials``); these names stay for callers and tests.
_count = store.count_request
counts_engine = store.counts_engine


# -- sign-in throttle (issue 10) ---------------------------------------------------------------------
# Failed sign-ins are counted per credential (a door's login: CRM.COM's username, BeansBooks'
# auth_uid, Vodo's secure-business-key) and per client address, in fixed windows, in the counts
# database (so every worker and server shares them). When either count has reached its limit, every
# sign-in with that login or from that address is refused with ``rate_limited`` (429, Retry-After:
# the seconds to the window's end) *before* the secret is checked: the right secret does not get
# in either, and a refusal costs no scrypt. Bearer tokens (native, Internom, SnR2U) and CRM.COM's
# session tokens are 256-bit random: an unknown one counts against the address only.

LOGIN_WINDOW_SECONDS = int(os.environ.get("SALESREFUND_LOGIN_WINDOW", "900"))
LOGIN_FAILURES = int(os.environ.get("SALESREFUND_LOGIN_FAILURES", "10"))  # per login and window; 0: off
ADDRESS_FAILURES = int(os.environ.get("SALESREFUND_LOGIN_FAILURES_PER_ADDRESS", "100"))  # per address; 0: off

client_address: ContextVar[str | None] = ContextVar("client_address", default=None)
"""The calling client's address, set by the app's edge for each request (``http.app``)."""


@dataclass(frozen=True)
class SignIn:
    """One sign-in attempt under throttle: its counter keys and the window it falls in."""

    keys: tuple[tuple[str, int], ...] = ()  # (counter key, its limit)
    window: int = 0
    counts: dict = field(default_factory=dict, compare=False)


def sign_in(engine: Engine, door: str | None, login: str | None, clock: Clock | None = None) -> SignIn:
    """Start a sign-in with ``login`` at ``door`` (None: a bearer or session token, counted by
    address only); ``rate_limited`` when the login or the address has failed too often in this
    window. Call ``failed`` when the secret turns out wrong."""
    keys = []
    if door is not None and login is not None and LOGIN_FAILURES > 0:
        keys.append((f"login:{door}:{_digest(login)}", LOGIN_FAILURES))
    address = _address()
    if address is not None and ADDRESS_FAILURES > 0:
        keys.append((f"address:{_digest(address)}", ADDRESS_FAILURES))
    if not keys:
        return SignIn()
    now = int((clock or Clock()).now().timestamp())
    window = now // LOGIN_WINDOW_SECONDS
    try:
        counts = store.failure_counts(counts_engine(engine), tuple(key for key, _ in keys), window)
    except (DBAPIError, OSError) as error:  # counting must not stop sign-ins when it cannot be done
        if isinstance(error, DBAPIError) and not unwritable(error):
            raise
        log.warning("sign-in failures not read: %s", error)
        return SignIn()
    if any(counts.get(key, 0) >= limit for key, limit in keys):
        seconds = LOGIN_WINDOW_SECONDS - now % LOGIN_WINDOW_SECONDS
        error = reject("rate_limited", "", "too many failed sign-ins; retry in {seconds} s", seconds=seconds)
        error.retry_after = seconds
        raise error
    return SignIn(tuple(keys), window, counts)


def failed(engine: Engine, attempt: SignIn) -> None:
    """Count a failed sign-in against its login and address."""
    if not attempt.keys:
        return
    try:
        store.count_failure(counts_engine(engine), tuple(key for key, _ in attempt.keys), attempt.window)
    except (DBAPIError, OSError) as error:
        if isinstance(error, DBAPIError) and not unwritable(error):
            raise
        log.warning("sign-in failure not counted: %s", error)


def _address() -> str | None:
    """The client's IP address; None when the server does not know it (a Unix socket, a test
    client): one key for every such caller would let one of them lock out all the others."""
    address = client_address.get()
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
