"""UBL 2.1 building blocks shared by the profiles, and the EN 16931 ``CreditNote`` (type 381).

Every amount written is one of the record's integers formatted with the currency's decimals: the
document shows the refund's own figures, it never recomputes them (line net amounts, the VAT
breakdown per rate, the totals, the cash rounding, the payments).
"""

from __future__ import annotations

from lxml import etree

from ..domain.money import Currency, format_amount, format_scaled
from .record import CreditNoteRecord, Line, Party

NS_CN = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"

EN16931 = "urn:cen.eu:en16931:2017"

# UNCL 4461 payment means per payment kind: cash 10, bank card 48, credit transfer 30, clearing
# between partners 97 (store credit and the receivable: the money stays with the business).
PAYMENT_MEANS = {"cash": "10", "card": "48", "bank": "30", "store_credit": "97", "receivable": "97"}

# UN/ECE Recommendation 20 unit codes for the units products are recorded with.
UNIT_CODES = {"unit": "C62", "units": "C62", "pc": "H87", "pcs": "H87", "piece": "H87", "pieces": "H87",
              "ea": "EA", "each": "EA", "kg": "KGM", "g": "GRM", "l": "LTR", "litre": "LTR", "liter": "LTR",
              "ml": "MLT", "m": "MTR", "cm": "CMT", "h": "HUR", "hour": "HUR", "day": "DAY", "box": "XBX",
              "set": "SET", "pair": "PR"}


class DocumentIncomplete(ValueError):
    """The tenant or customer lacks a detail the profile requires (fields as JSON pointers)."""

    def __init__(self, profile: str, missing: list[str]):
        super().__init__(f"the {profile} document needs {', '.join(missing)}")
        self.profile = profile
        self.missing = missing


def unit_code(unit: str | None) -> str:
    return UNIT_CODES.get((unit or "unit").strip().lower(), "C62")


def tax_category(rate: int) -> str:
    """EN 16931 VAT category: S (standard rated) above 0 %, Z (zero rated) at 0 %."""
    return "S" if rate else "Z"


def percent(rate: int) -> str:
    """A rate in 1/10,000 percent with at least two decimals: 150000 -> "15.00"."""
    text = format_scaled(rate, 4)
    whole, frac = text.split(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"


def quantity_text(quantity: int) -> str:
    text = format_scaled(quantity, 4).rstrip("0")
    return text + "0" if text.endswith(".") else text


def price_of(line: Line, cur: Currency) -> tuple[str, str | None]:
    """(price amount, base quantity or None) with qty x price / base == the line's net exactly
    (before its allowance): the unit price itself when it divides, else the net over the quantity."""
    quantity = line.quantity or 10_000  # an amount-only line is one unit of its amount
    if line.allowance_minor:
        return format_scaled(line.unit_price, 4), None
    net_scaled = line.net_minor * 10 ** (4 - cur.exponent) if cur.exponent <= 4 else line.net_minor
    numerator = net_scaled * 10_000
    if numerator % quantity == 0:
        return format_scaled(numerator // quantity, 4), None
    return format_amount(line.net_minor, cur), quantity_text(quantity)


class Builder:
    """Appends UBL elements in order: ``b.cbc(parent, "ID", "1")``, ``b.cac(parent, "Party")``."""

    def __init__(self, cur: Currency):
        self.cur = cur

    @staticmethod
    def cbc(parent, tag: str, text: str | None = None, **attrs):
        node = etree.SubElement(parent, f"{{{CBC}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
        if text is not None:
            node.text = text
        return node

    @staticmethod
    def cac(parent, name: str):
        return etree.SubElement(parent, f"{{{CAC}}}{name}")

    def amount(self, parent, name: str, minor: int):
        return self.cbc(parent, name, format_amount(minor, self.cur), currencyID=self.cur.code)

    def address(self, parent, party: Party, *, zatca: bool = False, country_default: str | None = None):
        addr = self.cac(parent, "PostalAddress")
        if party.street:
            self.cbc(addr, "StreetName", party.street)
        if zatca and party.additional_number:
            self.cbc(addr, "AdditionalStreetName", party.additional_number)
        if party.building_number:
            self.cbc(addr, "BuildingNumber", party.building_number)
        if zatca and party.additional_number:
            self.cbc(addr, "PlotIdentification", party.additional_number)
        if party.district:
            self.cbc(addr, "CitySubdivisionName", party.district)
        if party.city:
            self.cbc(addr, "CityName", party.city)
        if party.postal_code:
            self.cbc(addr, "PostalZone", party.postal_code)
        if party.region:
            self.cbc(addr, "CountrySubentity", party.region)
        country = party.country or country_default
        if country:
            self.cbc(self.cac(addr, "Country"), "IdentificationCode", country)
        return addr

    def tax_scheme(self, parent, scheme: str = "VAT"):
        self.cbc(self.cac(parent, "TaxScheme"), "ID", scheme)


def missing_parties(record: CreditNoteRecord, profile: str) -> list[str]:
    missing = []
    if not record.seller.vat_number:
        missing.append("/seller/vat_number")
    if not (record.seller.country or record.tenant_country):
        missing.append("/seller/country")
    if record.currency.exponent > 2:
        missing.append("/currency (amounts have at most 2 decimals in EN 16931)")
    return missing


def credit_note_en16931(record: CreditNoteRecord) -> bytes:
    """The EN 16931 UBL 2.1 ``CreditNote`` (BT-3 = 381) of ``record``."""
    missing = missing_parties(record, "en16931")
    if missing:
        raise DocumentIncomplete("en16931", missing)
    cur = record.currency
    b = Builder(cur)
    root = etree.Element(f"{{{NS_CN}}}CreditNote", nsmap={None: NS_CN, "cac": CAC, "cbc": CBC})
    b.cbc(root, "CustomizationID", EN16931)  # BT-24
    b.cbc(root, "ID", record.number)  # BT-1
    b.cbc(root, "IssueDate", record.issue_date.isoformat())  # BT-2
    b.cbc(root, "CreditNoteTypeCode", "381")  # BT-3
    for note in notes(record):
        b.cbc(root, "Note", note)  # BG-1
    b.cbc(root, "DocumentCurrencyCode", cur.code)  # BT-5
    if record.invoice is not None:  # BG-3
        ref = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
        b.cbc(ref, "ID", record.invoice.number)  # BT-25
        b.cbc(ref, "IssueDate", record.invoice.date.isoformat())  # BT-26
    seller_country = record.seller.country or record.tenant_country
    _party(b, b.cac(root, "AccountingSupplierParty"), record.seller, seller_country, seller=True)
    _party(b, b.cac(root, "AccountingCustomerParty"), record.buyer, seller_country, seller=False)
    payment_means(b, root, record)
    tax_total(b, root, record)
    monetary_total(b, root, record)
    for line in record.lines:
        _line(b, root, line, "CreditNoteLine", "CreditedQuantity")
    return serialize(root)


def payment_means(b: Builder, root, record: CreditNoteRecord) -> None:
    """BG-16, once (UBL-SR-46/47 allow one code and one text): the payments' common UNCL 4461 code,
    or 1 (not defined) for a split across kinds; the text names each payment and its amount."""
    if not record.payments:
        return
    codes = {PAYMENT_MEANS.get(p.kind, "1") for p in record.payments}
    means = b.cac(root, "PaymentMeans")
    b.cbc(means, "PaymentMeansCode", codes.pop() if len(codes) == 1 else "1", name=payments_text(record))
    references = [p.reference for p in record.payments if p.reference]
    if references:
        b.cbc(means, "PaymentID", references[0])


def payments_text(record: CreditNoteRecord) -> str:
    return "; ".join(f"{p.method} {format_amount(p.amount_minor, record.currency)}" for p in record.payments)


def notes(record: CreditNoteRecord) -> list[str]:
    out = []
    if record.reason:
        out.append(f"Reason: {record.reason}")
    if record.voided:
        when = record.voided_at.date().isoformat() if record.voided_at else ""
        out.append(f"VOIDED {when}: this credit note was cancelled and its effects reversed".replace("  ", " "))
    return out


def _party(b: Builder, parent, party: Party, country_default: str | None, *, seller: bool) -> None:
    node = b.cac(parent, "Party")
    b.cbc(b.cac(node, "PartyName"), "Name", party.name)
    b.address(node, party, country_default=country_default)
    if party.vat_number:
        scheme = b.cac(node, "PartyTaxScheme")
        b.cbc(scheme, "CompanyID", party.vat_number)  # BT-31 / BT-48
        b.tax_scheme(scheme)
    legal = b.cac(node, "PartyLegalEntity")
    b.cbc(legal, "RegistrationName", party.name)  # BT-27 / BT-44
    if party.registration_number:
        b.cbc(legal, "CompanyID", party.registration_number)
    if party.email or party.phone:
        contact = b.cac(node, "Contact")
        if party.phone:
            b.cbc(contact, "Telephone", party.phone)
        if party.email:
            b.cbc(contact, "ElectronicMail", party.email)


def tax_total(b: Builder, root, record: CreditNoteRecord) -> None:
    """BG-23: one subtotal per rate, the record's own net and tax per rate (BT-116, BT-117)."""
    total = b.cac(root, "TaxTotal")
    b.amount(total, "TaxAmount", record.tax_minor)  # BT-110
    for row in record.taxes:
        sub = b.cac(total, "TaxSubtotal")
        b.amount(sub, "TaxableAmount", row.net_minor)
        b.amount(sub, "TaxAmount", row.tax_minor)
        category = b.cac(sub, "TaxCategory")
        b.cbc(category, "ID", tax_category(row.rate))  # BT-118
        b.cbc(category, "Percent", percent(row.rate))
        b.tax_scheme(category)


def monetary_total(b: Builder, root, record: CreditNoteRecord) -> None:
    """BG-22: lines' net (BT-106) = the refund's net; tax inclusive (BT-112) = its gross; rounding
    (BT-114) = its cash rounding; payable (BT-115) = its total."""
    total = b.cac(root, "LegalMonetaryTotal")
    b.amount(total, "LineExtensionAmount", record.net_minor)
    b.amount(total, "TaxExclusiveAmount", record.net_minor)
    b.amount(total, "TaxInclusiveAmount", record.gross_minor)
    if record.rounding_minor:
        b.amount(total, "PayableRoundingAmount", record.rounding_minor)
    b.amount(total, "PayableAmount", record.total_minor)


def _line(b: Builder, root, line: Line, element: str, quantity_element: str, *, zatca: bool = False,
          category: str | None = None) -> None:
    node = b.cac(root, element)
    b.cbc(node, "ID", str(line.number))  # BT-126
    quantity = line.quantity or 10_000  # an amount-only line: one unit (C62) of its amount
    unit = unit_code(line.unit) if line.quantity else "C62"
    b.cbc(node, quantity_element, quantity_text(quantity), unitCode=unit)  # BT-129/130
    b.amount(node, "LineExtensionAmount", line.net_minor)  # BT-131
    if zatca:
        tax = b.cac(node, "TaxTotal")
        b.amount(tax, "TaxAmount", line.tax_minor)
        b.amount(tax, "RoundingAmount", line.gross_minor)
    if line.allowance_minor:  # BG-27: the invoice line's discount, shared into this line
        allowance = b.cac(node, "AllowanceCharge")
        b.cbc(allowance, "ChargeIndicator", "false")
        b.cbc(allowance, "AllowanceChargeReasonCode", "95")
        b.cbc(allowance, "AllowanceChargeReason", "Discount")
        b.amount(allowance, "Amount", line.allowance_minor)
    item = b.cac(node, "Item")
    b.cbc(item, "Name", line.description or line.product or f"Line {line.number}")  # BT-153
    if line.product:
        b.cbc(b.cac(item, "SellersItemIdentification"), "ID", line.product)  # BT-155
    classified = b.cac(item, "ClassifiedTaxCategory")
    b.cbc(classified, "ID", category or tax_category(line.tax_rate))  # BT-151
    b.cbc(classified, "Percent", percent(line.tax_rate))  # BT-152
    b.tax_scheme(classified)
    price = b.cac(node, "Price")
    amount, base = price_of(line, b.cur)
    b.cbc(price, "PriceAmount", amount, currencyID=b.cur.code)  # BT-146
    if base is not None:
        b.cbc(price, "BaseQuantity", base, unitCode=unit)  # BT-149


def serialize(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
