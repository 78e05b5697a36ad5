"""Demo tenants whose data is what each seed document's example refers to (issue 3).

Each module ``seeds/<door>.py`` has ``load(engine, clock)``, idempotent, built with
``load_tenant_once`` so an interrupted load never leaves a half-made tenant behind.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Callable

from sqlalchemy import Engine

from ..domain.errors import RefundError
from ..service.tenants import create_tenant, publish_tenant, purge_tenant, tenant_id_by_name, tenant_ids_named_like
from ..service.uow import Clock

SEEDS = ("internom", "vodo", "crmcom", "beansbooks", "snr2u")


def load_tenant_once(engine: Engine, name: str, *, token: str, build: Callable[[int, str], None],
                     clock: Clock | None = None, **tenant_options) -> bool:
    """Create tenant ``name`` with ``build(tenant_id, loading_name)`` unless it exists.

    The tenant is built under a temporary name and published (renamed, given the admin ``token``)
    in one last transaction; leftovers of an interrupted load are purged first. Returns True when
    it was created now."""
    try:
        tenant_id_by_name(engine, name)
        return False
    except RefundError:
        pass
    for leftover in tenant_ids_named_like(engine, f"{name}-loading-%"):
        purge_tenant(engine, leftover)
    loading = f"{name}-loading-{uuid.uuid4().hex[:12]}"
    created = create_tenant(engine, loading, clock=clock, **tenant_options)
    try:
        build(created["id"], loading)
    except BaseException:
        purge_tenant(engine, created["id"])
        raise
    publish_tenant(engine, created["id"], name, token, clock)
    return True


def load_seed_tenants(engine: Engine, clock: Clock | None = None) -> dict[str, bool]:
    """Load every seed door's demo tenant; {door: created now?}."""
    return {door: importlib.import_module(f"{__name__}.{door}").load(engine, clock or Clock()) for door in SEEDS}
