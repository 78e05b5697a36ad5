"""Documents of a refund (issue 11): read the refund through the store into a typed
``CreditNoteRecord``, then hand it to the pure builders of ``salesrefund.documents``."""

from __future__ import annotations

import json

from ..documents import ubl
from ..documents.record import (
    ADDRESS_FIELDS, CreditNoteRecord, Line, OriginalInvoice, Party, Payment, TaxRow,
)
from ..domain import money
from ..domain.errors import Invalid, Violation, reject
from ..domain.money import Currency
from ..store.engine import Engine
from ..store.documents import DocumentStore, tenant_of_public_id
from . import zatca_chain
from .uow import Clock, UnitOfWork

LANGUAGE_BY_COUNTRY = {"SA": "ar", "MN": "mn", "MY": "ms", "BN": "ms"}
DOCUMENT_LANGUAGES = ("en", "ar", "mn", "ms")


class Documents:
    def __init__(self, engine: Engine, clock: Clock | None = None):
        self.engine = engine
        self.clock = clock or Clock()

    def uow(self, tenant_id: int, *, write: bool = False) -> UnitOfWork:
        """A unit of work whose store is a ``DocumentStore``."""
        return UnitOfWork(self.engine, tenant_id, write=write, store=DocumentStore)

    # -- the record -------------------------------------------------------------------------
    def record(self, tenant_id: int, refund: str) -> CreditNoteRecord:
        """The record of refund ``refund`` (its public id, or its credit-note number)."""
        with self.uow(tenant_id) as uow:
            return self._record(uow.store, self._refund_row(uow.store, refund))

    def _refund_row(self, store: DocumentStore, refund: str):
        row = store.refund(refund) or store.refund_by_number(refund)
        if row is None:
            raise reject("not_found", "/id", "refund {id} does not exist", id=refund)
        if row["state"] == "draft":
            raise reject("invalid_state", "/id", "a draft has no document; post it first")
        if row["kind"] == "payout":
            raise reject("invalid_state", "/id", "a payout is not a credit note and has no document")
        return row

    def _record(self, store: DocumentStore, row) -> CreditNoteRecord:
        cur = Currency(row["currency"], row["currency_exponent"])
        tenant = store.tenant()
        profile = store.seller_profile() or {}
        seller = _seller(tenant, profile)
        customer = store.customer_by_id(row["customer_id"])
        address = store.customer_address(customer["id"]) or {}
        buyer = Party(name=customer["name"], vat_number=customer["tax_number"], code=customer["code"],
                      email=address.get("email") or customer["email"],
                      **{k: address.get(k) for k in ADDRESS_FIELDS if k != "email"})
        buyer = snr2u_buyer(json.loads(row["metadata_json"] or "{}"), buyer)
        invoice_row = store.invoice_by_id(row["invoice_id"]) if row["invoice_id"] else None
        invoice = (OriginalInvoice(invoice_row["number"], invoice_row["date"], invoice_row["myinvois_uuid"])
                   if invoice_row else None)
        inclusive = invoice_row["prices_include_tax"] if invoice_row else tenant["prices_include_tax"]
        discounts = _invoice_discounts(store, row["invoice_id"]) if invoice_row else {}
        lines = tuple(_line(r, cur, inclusive, discounts) for r in store.refund_lines(row["id"]))
        methods = {code: method.kind for code, method in store.payment_methods().items()}
        return CreditNoteRecord(
            id=row["public_id"], kind=row["kind"], number=row["number"], state=row["state"],
            issue_date=row["posting_date"], issued_at=row["posted_at"], voided_at=row["voided_at"],
            currency=cur, prices_include_tax=inclusive, seller=seller, buyer=buyer, invoice=invoice,
            lines=lines,
            taxes=tuple(TaxRow(x["tax_rate"], x["net_minor"], x["tax_minor"]) for x in store.refund_taxes(row["id"])),
            payments=tuple(Payment(p["method"], p["kind"] or methods.get(p["method"], "other"), p["amount_minor"],
                                   p["reference"]) for p in store.refund_payments(row["id"])),
            net_minor=row["net_minor"], tax_minor=row["tax_minor"], gross_minor=row["gross_minor"],
            rounding_minor=row["rounding_minor"], total_minor=row["total_minor"], reason=row["reason"],
            language=document_language(tenant, profile), tenant_country=tenant["country"],
            metadata=json.loads(row["metadata_json"] or "{}"))

    # -- documents ---------------------------------------------------------------------------
    def xml(self, tenant_id: int, refund: str, profile: str = "en16931") -> tuple[bytes, str]:
        """The refund's e-invoice in ``profile``, and its credit-note number."""
        if profile == "zatca":
            return zatca_chain.document(self, tenant_id, refund)
        record = self.record(tenant_id, refund)
        if profile == "myinvois":
            from ..documents import myinvois
            return myinvois.refund_note(record), record.number
        return ubl.credit_note_en16931(record), record.number

    def pdf(self, tenant_id: int, refund: str, lang: str | None = None) -> tuple[bytes, str]:
        from ..documents import pdf
        record = self.record(tenant_id, refund)
        qr = self.zatca_qr_svg(tenant_id, record) if "SA" in (record.seller.country, record.tenant_country) else None
        return pdf.render(record, lang or record.language, zatca_qr=qr), record.number

    def zatca_qr_svg(self, tenant_id: int, record: CreditNoteRecord) -> str | None:
        """The QR of the refund's ZATCA document as a base64 SVG (issued when the tenant is ready)."""
        return zatca_chain.qr_svg(self, tenant_id, record.id)

    # -- settings ----------------------------------------------------------------------------
    def seller(self, tenant_id: int) -> dict:
        with self.uow(tenant_id) as uow:
            tenant = uow.store.tenant()
            profile = uow.store.seller_profile() or {}
            return seller_view(tenant, profile)

    def set_seller(self, tenant_id: int, values: dict) -> dict:
        _check_party(values)
        if values.get("language") not in (None, *DOCUMENT_LANGUAGES):
            raise Invalid(Violation("/language", "validation_error", "language is one of en, ar, mn, ms"))
        with self.uow(tenant_id, write=True) as uow:
            uow.store.set_seller_profile(values)
            view = seller_view(uow.store.tenant(), uow.store.seller_profile())
            uow.commit()
        return view

    def set_customer_address(self, tenant_id: int, code: str, values: dict) -> dict:
        _check_party(values)
        with self.uow(tenant_id, write=True) as uow:
            customer = uow.store.customer(code)
            if customer is None:
                raise reject("not_found", "/code", "customer {code} does not exist", code=code)
            uow.store.set_customer_address(customer["id"], values)
            address = uow.store.customer_address(customer["id"])
            uow.commit()
        return {"customer": code, **{k: address[k] for k in ADDRESS_FIELDS}}

    def set_myinvois_uuid(self, tenant_id: int, number: str, value: str | None) -> dict:
        if value is not None and not _is_myinvois_uuid(value):
            raise Invalid(Violation("/myinvois_uuid", "validation_error",
                                    "a MyInvois UUID has 1 to 64 letters, digits and hyphens"))
        with self.uow(tenant_id, write=True) as uow:
            invoice = uow.store.invoice_row(number)
            if invoice is None:
                raise reject("not_found", "/number", "invoice {number} does not exist", number=number)
            uow.store.set_myinvois_uuid(invoice["id"], value)
            uow.commit()
        return {"invoice": number, "myinvois_uuid": value}


# SnR2U's buyer e-invoice fields (seed 004) -> the buyer of the documents, when the refund note
# says to use them (IsUseTransactionBuyerElement), as SnR2U itself stores them
SNR2U_BUYER = {"EInvoiceRegName_Buyer": "name", "EInvoiceRegTIN_Buyer": "vat_number",
               "EInvoiceRegNumber_Buyer": "registration_number", "EInvoiceBuyerRegType": "registration_scheme",
               "EInvoiceRegEmail_Buyer": "email", "EInvoiceAddressPostalZone_Buyer": "postal_code",
               "EInvoiceAddressCityName_Buyer": "city", "AcEInvoiceAddressStateID_Buyer": "region",
               "EInvoiceRegContactNumber_Buyer": "phone"}


def snr2u_buyer(metadata: dict, buyer: Party) -> Party:
    header = (metadata.get("snr2u") or {}).get("header") or {}
    if str(header.get("IsUseTransactionBuyerElement")).lower() not in ("true", "1"):
        return buyer
    from dataclasses import replace
    from ..documents.myinvois import ALPHA3
    values = {field: header[name] for name, field in SNR2U_BUYER.items() if header.get(name)}
    street = ", ".join(header[f"EInvoiceAddressLine{i}_Buyer"] for i in range(3)
                       if header.get(f"EInvoiceAddressLine{i}_Buyer"))
    if street:
        values["street"] = street
    country = header.get("AcEInvoiceAddressCountryID_Buyer")
    if country:
        values["country"] = {v: k for k, v in ALPHA3.items()}.get(country, country[:2])
    return replace(buyer, **values)


def _is_myinvois_uuid(value: str) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 64 and all(c.isalnum() or c == "-" for c in value) \
        and value.isascii()


def _check_party(values: dict) -> None:
    from ..store.documents import SIZES
    for key, value in values.items():
        if isinstance(value, str) and key in SIZES and len(value) > SIZES[key]:
            raise Invalid(Violation(f"/{key}", "validation_error", "{field} has more than {max} characters",
                                    {"field": key, "max": SIZES[key]}))
    country = values.get("country")
    if country is not None and not (len(country) == 2 and country.isascii() and country.isupper()):
        raise Invalid(Violation("/country", "validation_error", "country must be an ISO 3166 code like SA"))
    for key, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise Invalid(Violation(f"/{key}", "validation_error", "text must not contain NUL"))


def document_language(tenant, profile) -> str:
    return (profile.get("language") if profile else None) or LANGUAGE_BY_COUNTRY.get(tenant["country"] or "", "en")


def _seller(tenant, profile) -> Party:
    values = {k: profile.get(k) for k in ADDRESS_FIELDS}
    values["country"] = values["country"] or tenant["country"]
    return Party(name=profile.get("legal_name") or tenant["name"], vat_number=profile.get("vat_number"),
                 activity_code=profile.get("activity_code"), activity=profile.get("activity"),
                 zatca_exemption_code=profile.get("zatca_exemption_code"), **values)


def seller_view(tenant, profile) -> dict:
    profile = profile or {}
    seller = _seller(tenant, profile)
    return {"legal_name": seller.name, "vat_number": seller.vat_number,
            **{k: getattr(seller, k) for k in ADDRESS_FIELDS},
            "language": document_language(tenant, profile), "activity_code": seller.activity_code,
            "activity": seller.activity, "zatca_exemption_code": seller.zatca_exemption_code}


def _invoice_discounts(store: DocumentStore, invoice_id: int) -> dict[int, int]:
    """Invoice line number -> its discount (minor units)."""
    row = store.invoice_by_id(invoice_id)
    snapshot, _ = store.invoice_snapshot({**row, "customer_code": "", "location_code": None})
    return {line.line: line.discount_minor for line in snapshot.lines}


def _line(r, cur: Currency, inclusive: bool, discounts: dict[int, int]) -> Line:
    allowance = 0
    if (not inclusive and r["quantity"] and r["unit_price"] is not None
            and discounts.get(r["invoice_line_no"] or 0, 0) > 0):
        allowance = max(0, money.extend(r["quantity"], r["unit_price"], cur) - r["net_minor"])
    return Line(number=r["line_no"], invoice_line=r["invoice_line_no"], product=r["product_code"],
                description=r["description"], quantity=r["quantity"], unit_price=r["unit_price"],
                unit=r["product_unit"], tax_rate=r["tax_rate"], net_minor=r["net_minor"],
                tax_minor=r["tax_minor"], gross_minor=r["gross_minor"], allowance_minor=allowance)


def tenant_of_refund(engine: Engine, refund: str, tenant: str | None = None) -> int:
    """The tenant whose refund ``refund`` is (an operator's look-up for the command line): by
    tenant name when given (then ``refund`` may be a number), else by the refund's public id."""
    from .tenants import tenant_id_by_name
    if tenant is not None:
        return tenant_id_by_name(engine, tenant)
    with UnitOfWork(engine, None, write=False) as uow:
        found = tenant_of_public_id(uow.conn, refund)
    if found is None:
        raise reject("not_found", "/id", "refund {id} does not exist", id=refund)
    return found
