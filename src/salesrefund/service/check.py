"""`salesrefund check`: verify a database end to end. The checks are the store's set-based queries
over all tenants (``store.checks``) and the ZATCA hash chains (``service.zatca_chain``); each
finding names the tenant and the row. Operators can run it at any time: it only reads.
"""

from __future__ import annotations

from ..store.engine import Engine
from ..store.checks import CHECKS, Finding  # noqa: F401 (Finding: what a check yields)
from .uow import UnitOfWork


def run_checks(engine: Engine) -> dict[str, list[Finding]]:
    """{check name: findings}; an empty list means the check passed."""
    with UnitOfWork(engine, None, write=False) as uow:
        return {name: list(check(uow.conn)) for name, check in CHECKS.items()}


def zatca_chain(conn):
    """Each tenant's ZATCA hash chain holds: counters 1, 2, 3 …, each PIH the previous document's
    hash, each stored document unchanged and its signature valid (issue 11)."""
    from .zatca_chain import chain_findings
    for tenant_id, detail in chain_findings(conn):
        yield Finding("zatca_chain", tenant_id, detail)


CHECKS["zatca_chain"] = zatca_chain
