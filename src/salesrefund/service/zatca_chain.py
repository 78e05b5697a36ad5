"""The ZATCA hash chain of each tenant (issue 11).

A refund's ZATCA document is issued once, the first time it is asked for (the endpoint, the CLI,
or a Saudi tenant's PDF), and kept byte for byte: it takes the tenant's next counter (ICV, gapless,
from the same ``sequences`` row lock as credit-note numbers) and the previous document's hash
(PIH; the first document carries ZATCA's initial PIH), in one transaction. It then waits for
ZATCA: ``pending_clearance`` (standard, B2B: cleared before it is shared) or ``pending_reporting``
(simplified: reported within 24 hours). ``mark`` records ZATCA's answer once onboarding exists.
"""

from __future__ import annotations

import base64
import uuid as uuidlib
from datetime import timezone
from io import BytesIO
from zoneinfo import ZoneInfo

from ..documents import zatca
from ..documents.ubl import DocumentIncomplete
from ..store.engine import Connection, IntegrityError
from ..store.documents import DocumentStore, all_zatca_documents
from .uow import Clock, UnitOfWork, with_retries

STATUSES = ("pending_clearance", "pending_reporting", "cleared", "reported", "rejected")
SERIES = "zatca-icv"


def document(service, tenant_id: int, refund: str) -> tuple[bytes, str]:
    """The refund's ZATCA document (issued now if it was not yet) and its credit-note number."""
    row = issued(service, tenant_id, refund)
    return row["xml"].encode("utf-8"), row["number"]


def issued(service, tenant_id: int, refund: str) -> dict:
    with service.uow(tenant_id) as uow:
        refund_row = service._refund_row(uow.store, refund)
        existing = uow.store.zatca_document(refund_row["id"])
        if existing is not None:
            return {**existing, "number": refund_row["number"]}

    def attempt() -> dict:
        with service.uow(tenant_id, write=True) as uow:
            store = uow.store
            refund_row = service._refund_row(store, refund)
            existing = store.zatca_document(refund_row["id"])
            if existing is not None:
                return {**existing, "number": refund_row["number"]}
            record = service._record(store, refund_row)
            problems = zatca.missing(record)
            key_row = store.signing_key()
            if key_row is None:
                problems.append("/signing_key (run: salesrefund tenant keys --tenant NAME)")
            if problems:
                raise DocumentIncomplete("zatca", problems)
            icv = store.next_number(SERIES)  # its row lock orders the chain until commit
            last = store.zatca_last()
            pih = last["invoice_hash"] if last is not None else zatca.FIRST_PIH
            now = service.clock.now()
            tenant = store.tenant()
            posted = refund_row["posted_at"] or refund_row["created_at"]
            posted = posted.replace(tzinfo=timezone.utc) if posted.tzinfo is None else posted
            issue_time = posted.astimezone(ZoneInfo(tenant["timezone"])).strftime("%H:%M:%S")
            doc = zatca.issue(record, uuid=str(uuidlib.uuid4()), icv=icv, pih=pih,
                              key=zatca.SigningKey(key_row["private_key_pem"], key_row["certificate_pem"]),
                              signed_at=now, issue_time=issue_time)
            status = "pending_clearance" if zatca.subtype(record) == zatca.STANDARD else "pending_reporting"
            values = dict(refund_id=refund_row["id"], icv=icv, uuid=doc.uuid, pih=pih, invoice_hash=doc.invoice_hash,
                          xml=doc.xml.decode("utf-8"), status=status, created_at=now)
            store.add_zatca_document(**values)
            uow.commit()
            return {**values, "number": refund_row["number"]}

    try:
        return with_retries(attempt)
    except IntegrityError:  # the same refund issued by a concurrent request: read its document
        return issued(service, tenant_id, refund)


def mark(service, tenant_id: int, refund: str, status: str) -> None:
    """Record ZATCA's answer (cleared, reported, rejected) for a refund's document."""
    if status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}")
    with service.uow(tenant_id, write=True) as uow:
        refund_row = service._refund_row(uow.store, refund)
        uow.store.set_zatca_status(refund_row["id"], status)
        uow.commit()


def qr_svg(service, tenant_id: int, refund: str) -> str | None:
    """The QR of the refund's ZATCA document as a base64 SVG (issuing the document if the tenant
    is ready for ZATCA); None when the tenant lacks a detail ZATCA needs."""
    import segno
    try:
        row = issued(service, tenant_id, refund)
    except DocumentIncomplete:
        return None
    qr = zatca.parse(row["xml"].encode("utf-8")).qr
    out = BytesIO()
    segno.make(qr, error="m").save(out, kind="svg", scale=4, border=2)
    return base64.b64encode(out.getvalue()).decode()


def chain_findings(conn: Connection):
    """(tenant id, what is wrong) for every break of a tenant's chain: counters not 1, 2, 3 …; a
    PIH that is not the previous document's hash (the first: ZATCA's initial PIH); a document whose
    hash, signature or QR no longer matches (a changed document), or whose ICV/PIH differ from
    the chain's record."""
    previous: dict[int, str] = {}
    expected_icv: dict[int, int] = {}
    for row in all_zatca_documents(conn):
        tenant_id = row["tenant_id"]
        icv = expected_icv.get(tenant_id, 1)
        where = f"ZATCA document ICV {row['icv']} (refund row {row['refund_id']})"
        if row["icv"] != icv:
            yield tenant_id, f"{where}: the counter should be {icv}"
        if row["pih"] != previous.get(tenant_id, zatca.FIRST_PIH):
            yield tenant_id, f"{where}: its PIH is not the previous document's hash"
        xml = row["xml"].encode("utf-8")
        try:
            parsed = zatca.parse(xml)
            actual = zatca.invoice_hash(xml)
        except Exception as error:  # a document changed so much it no longer parses
            yield tenant_id, f"{where}: unreadable ({error})"
            previous[tenant_id], expected_icv[tenant_id] = row["invoice_hash"], row["icv"] + 1
            continue
        if actual != row["invoice_hash"]:
            yield tenant_id, f"{where}: the document was changed (hash {actual}, chain {row['invoice_hash']})"
        if (parsed.icv, parsed.pih) != (row["icv"], row["pih"]):
            yield tenant_id, f"{where}: its ICV/PIH differ from the chain's"
        for problem in zatca.verify(xml, _pem(parsed.certificate_b64)):  # the certificate it was signed with
            yield tenant_id, f"{where}: {problem}"
        previous[tenant_id], expected_icv[tenant_id] = row["invoice_hash"], row["icv"] + 1


def _pem(certificate_b64: str) -> str:
    lines = [certificate_b64[i:i + 64] for i in range(0, len(certificate_b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def create_keys(engine, clock, tenant_id: int, *, rotate: bool = False) -> dict:
    """A secp256k1 key and self-signed certificate for the tenant (``salesrefund tenant keys``)."""
    with UnitOfWork(engine, tenant_id, store=DocumentStore) as uow:
        if uow.store.signing_key() is not None and not rotate:
            raise ValueError("the tenant has a signing key already (use --rotate to replace it)")
        tenant = uow.store.tenant()
        profile = uow.store.seller_profile() or {}
        now = (clock or Clock()).now()
        key = zatca.new_signing_key(tenant["name"], profile.get("legal_name") or tenant["name"],
                                    profile.get("vat_number"), now)
        uow.store.set_signing_key(key.private_key_pem, key.certificate_pem, now)
        uow.commit()
    return {"tenant_id": tenant_id, "certificate": key.certificate_pem}
