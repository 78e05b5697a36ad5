"""The MyInvois (Malaysia) credit or refund note: a UBL 2.1 ``Invoice``-rooted document with
``InvoiceTypeCode listVersionID="1.1"`` ``04`` (refund note: money went back) or ``02`` (credit
note: store credit or the receivable), as the LHDNM e-Invoice guideline (sdk.myinvois.hasil.gov.my,
document types credit note / refund note v1.1) maps each field. Elements are in the order of the
UBL 2.1 schema, which the guideline requires.

A mixed refund (part cash, part store credit) is one refund note (04): money went back, and the
guideline's credit note is for reductions "not involving return of monies". The store-credit
part is named in the payment terms note.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timezone

from lxml import etree

from .record import CreditNoteRecord, Line, Party
from .ubl import CAC, CBC, NS_INV, Builder, DocumentIncomplete, price_of, quantity_text, serialize, unit_code

VERSION = "1.1"
REFUND_NOTE, CREDIT_NOTE = "04", "02"
MONEY_BACK = {"cash", "card", "bank"}
# MyInvois payment modes: 01 cash, 02 cheque, 03 bank transfer, 04 credit card, 05 debit card,
# 06 e-wallet, 07 digital bank, 08 others
PAYMENT_MODES = {"cash": "01", "bank": "03", "card": "04", "store_credit": "08", "receivable": "08"}
# MyInvois tax types: 01 sales tax, 02 service tax, 06 not applicable
SERVICE_TAX_RATES = {60_000, 80_000}  # 6 % and 8 %, in 1/10,000 percent
GENERAL_PUBLIC_TIN = "EI00000000010"  # the guideline's TIN for a buyer who is the general public
NA = "NA"
OTHERS = "022"  # classification code "Others"


def type_code(record: CreditNoteRecord) -> str:
    return REFUND_NOTE if any(p.kind in MONEY_BACK for p in record.payments) else CREDIT_NOTE


def tax_type(rate: int) -> str:
    if not rate:
        return "06"
    return "02" if rate in SERVICE_TAX_RATES else "01"


def missing(record: CreditNoteRecord) -> list[str]:
    s = record.seller
    out = [f"/seller/{field}" for field in ("vat_number", "registration_number", "activity_code", "activity",
                                            "street", "city", "postal_code", "region", "phone")
           if not getattr(s, field)]
    if record.currency.code != "MYR":
        out.append("/currency (MyInvois documents are issued here in MYR)")
    return out


def refund_note(record: CreditNoteRecord) -> bytes:
    """The MyInvois refund note (04) or credit note (02) of ``record``."""
    problems = missing(record)
    if problems:
        raise DocumentIncomplete("myinvois", problems)
    cur = record.currency
    b = Builder(cur)
    root = etree.Element(f"{{{NS_INV}}}Invoice", nsmap={None: NS_INV, "cac": CAC, "cbc": CBC})
    b.cbc(root, "ID", record.number)  # e-Invoice Code / Number
    issued = record.issued_at
    issued = issued.replace(tzinfo=timezone.utc) if issued is not None and issued.tzinfo is None else issued
    issued = issued.astimezone(timezone.utc) if issued is not None else None
    b.cbc(root, "IssueDate", issued.date().isoformat() if issued else record.issue_date.isoformat())  # UTC
    b.cbc(root, "IssueTime", issued.strftime("%H:%M:%SZ") if issued else "00:00:00Z")  # UTC
    b.cbc(root, "InvoiceTypeCode", type_code(record), listVersionID=VERSION)  # e-Invoice Type, Version
    b.cbc(root, "DocumentCurrencyCode", cur.code)  # Invoice Currency Code
    reference = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
    b.cbc(reference, "ID", record.invoice.number if record.invoice else NA)  # Original e-Invoice Reference Number
    b.cbc(reference, "UUID", (record.invoice.myinvois_uuid if record.invoice else None) or NA)  # its MyInvois UUID
    _party(b, b.cac(root, "AccountingSupplierParty"), record.seller, supplier=True)
    _party(b, b.cac(root, "AccountingCustomerParty"), record.buyer, supplier=False)
    codes = {PAYMENT_MODES.get(p.kind, "08") for p in record.payments if p.kind in MONEY_BACK} or \
        {PAYMENT_MODES.get(p.kind, "08") for p in record.payments} or {"08"}
    b.cbc(b.cac(root, "PaymentMeans"), "PaymentMeansCode", min(codes) if len(codes) == 1 else "08")  # Payment Mode
    b.cbc(b.cac(root, "PaymentTerms"), "Note", _terms(record))  # Payment Terms
    total = b.cac(root, "TaxTotal")
    b.amount(total, "TaxAmount", record.tax_minor)  # Total Tax Amount
    for row in record.taxes:
        sub = b.cac(total, "TaxSubtotal")
        b.amount(sub, "TaxableAmount", row.net_minor)  # Total Taxable Amount Per Tax Type
        b.amount(sub, "TaxAmount", row.tax_minor)  # Total Tax Amount Per Tax Type
        category = b.cac(sub, "TaxCategory")
        b.cbc(category, "ID", tax_type(row.rate))  # Tax Type
        _oth(b, category)
    money = b.cac(root, "LegalMonetaryTotal")
    b.amount(money, "LineExtensionAmount", record.net_minor)  # Total Net Amount
    b.amount(money, "TaxExclusiveAmount", record.net_minor)  # Total Excluding Tax
    b.amount(money, "TaxInclusiveAmount", record.gross_minor)  # Total Including Tax
    if record.rounding_minor:
        b.amount(money, "PayableRoundingAmount", record.rounding_minor)  # Rounding Amount
    b.amount(money, "PayableAmount", record.total_minor)  # Total Payable Amount
    for line in record.lines:
        _line(b, root, replace(line, allowance_minor=0))
    return serialize(root)


def _terms(record: CreditNoteRecord) -> str:
    text = "; ".join(f"{p.method} {b_amount(p.amount_minor, record)}" for p in record.payments) or "none"
    if record.reason:
        text = f"{text}. Reason: {record.reason}"
    if record.voided:
        text = f"{text}. VOIDED after issue"
    return text[:300]


def b_amount(minor: int, record: CreditNoteRecord) -> str:
    from ..domain.money import format_amount
    return format_amount(minor, record.currency)


def _oth(b: Builder, category) -> None:
    b.cbc(b.cac(category, "TaxScheme"), "ID", "OTH", schemeID="UN/ECE 5153", schemeAgencyID="6")


def _party(b: Builder, parent, party: Party, *, supplier: bool) -> None:
    node = b.cac(parent, "Party")
    if supplier:  # MSIC code and business activity description
        b.cbc(node, "IndustryClassificationCode", party.activity_code, name=party.activity)
    public = not supplier and not party.vat_number
    b.cbc(b.cac(node, "PartyIdentification"), "ID", GENERAL_PUBLIC_TIN if public else party.vat_number,
          schemeID="TIN")
    b.cbc(b.cac(node, "PartyIdentification"), "ID", party.registration_number or NA,
          schemeID=party.registration_scheme or "BRN")
    address = b.cac(node, "PostalAddress")
    b.cbc(address, "CityName", party.city or NA)
    if party.postal_code:
        b.cbc(address, "PostalZone", party.postal_code)
    b.cbc(address, "CountrySubentityCode", party.region or "17")  # state code; 17 = not applicable
    b.cbc(b.cac(address, "AddressLine"), "Line", " ".join(
        x for x in (party.building_number, party.street) if x) or NA)
    b.cbc(b.cac(address, "Country"), "IdentificationCode", _alpha3(party.country or "MY"),
          listID="ISO3166-1", listAgencyID="6")
    b.cbc(b.cac(node, "PartyLegalEntity"), "RegistrationName", party.name)
    contact = b.cac(node, "Contact")
    b.cbc(contact, "Telephone", party.phone or NA)
    if party.email:
        b.cbc(contact, "ElectronicMail", party.email)


ALPHA3 = {"MY": "MYS", "SG": "SGP", "BN": "BRN", "ID": "IDN", "TH": "THA", "SA": "SAU", "MN": "MNG", "DE": "DEU",
          "GB": "GBR", "US": "USA", "CN": "CHN", "IN": "IND", "JP": "JPN", "AU": "AUS", "PH": "PHL", "VN": "VNM"}


def _alpha3(country: str) -> str:
    """MyInvois country codes are ISO 3166-1 alpha-3."""
    return ALPHA3.get(country, country)


def _line(b: Builder, root, line: Line) -> None:
    node = b.cac(root, "InvoiceLine")
    b.cbc(node, "ID", str(line.number))
    quantity = line.quantity or 10_000
    unit = unit_code(line.unit) if line.quantity else "C62"
    b.cbc(node, "InvoicedQuantity", quantity_text(quantity), unitCode=unit)  # Quantity, Measurement
    b.amount(node, "LineExtensionAmount", line.net_minor)  # Total Excluding Tax
    tax = b.cac(node, "TaxTotal")
    b.amount(tax, "TaxAmount", line.tax_minor)  # Tax Amount
    sub = b.cac(tax, "TaxSubtotal")
    b.amount(sub, "TaxableAmount", line.net_minor)
    b.amount(sub, "TaxAmount", line.tax_minor)
    category = b.cac(sub, "TaxCategory")
    b.cbc(category, "ID", tax_type(line.tax_rate))  # Tax Type
    from .ubl import percent
    b.cbc(category, "Percent", percent(line.tax_rate))  # Tax Rate
    _oth(b, category)
    item = b.cac(node, "Item")
    b.cbc(item, "Description", line.description or line.product or f"Line {line.number}")  # Description
    b.cbc(b.cac(item, "CommodityClassification"), "ItemClassificationCode", OTHERS, listID="CLASS")
    amount, base = price_of(line, b.cur)
    price = b.cac(node, "Price")
    b.cbc(price, "PriceAmount", amount, currencyID=b.cur.code)  # Unit Price
    if base is not None:
        b.cbc(price, "BaseQuantity", base, unitCode=unit)
    b.amount(b.cac(node, "ItemPriceExtension"), "Amount", line.net_minor)  # Subtotal
