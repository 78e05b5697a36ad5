"""The ZATCA (Saudi Arabia) credit note: an ``Invoice``-rooted UBL 2.1 document of type 381 with
the subtype name (standard ``0100000`` when the buyer has a VAT number, else simplified
``0200000``), the original invoice (BR-KSA-56), the reason (KSA-10), the counter (ICV, KSA-16) and
previous document's hash (PIH, KSA-13) of the tenant's hash chain, the QR code (KSA-14), and the
XAdES signature with the tenant's ECDSA secp256k1 key.

Pure functions: the chain's state (next ICV, previous hash) and the key come in as arguments.

The invoice hash is ZATCA's: the document without ``ext:UBLExtensions``, ``cac:Signature`` and the
QR reference (the three XPath transforms of the signature; the text around them is kept),
canonicalized (C14N), SHA-256, base64. It reproduces the digest of ZATCA's own standard
credit-note sample. The signature value is ECDSA-SHA256 over the hash bytes, as ZATCA's SDK signs.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from lxml import etree

from ..domain.money import format_amount
from .record import CreditNoteRecord
from .ubl import (
    CAC, CBC, EXT, NS_INV, Builder, DocumentIncomplete, _line, monetary_total, percent, serialize,
)

FIRST_PIH = "NWZlY2ViNjZmZmM4NmYzOGQ5NTI3ODZjNmQ2OTZjNzljMmRiYzIzOWRkNGU5MWI0NjcyOWQ3M2EyN2ZiNTdlOQ=="
STANDARD, SIMPLIFIED = "0100000", "0200000"
SIG = "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2"
SAC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2"
SBC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ext": EXT, "cac": CAC, "cbc": CBC, "ds": DS, "xades": XADES, "sig": SIG, "sac": SAC}
# ZATCA's subset of UNCL 4461: cash 10, credit transfer 30, bank card 48, not defined 1
PAYMENT_MEANS = {"cash": "10", "card": "48", "bank": "30"}

# ZATCA's exemption reason codes (BT-121) and texts (BT-120) for 0 % VAT, with their VAT category
# (BT-118): Z zero rated, E exempt (XML implementation standard 11.2.4, as BR-KSA-CL-04 and
# BR-KSA-83 check them). The seller sets one code (`zatca_exemption_code`); every 0 % line of its
# ZATCA documents carries it. VATEX-SA-OOS (category O, not subject to VAT) is not offered: the
# EN 16931 rules forbid an O breakdown beside other categories and with the seller's VAT number.
EXEMPTIONS = {
    "VATEX-SA-29": ("E", "Financial services mentioned in Article 29 of the VAT Regulations"),
    "VATEX-SA-29-7": ("E", "Life insurance services mentioned in Article 29 of the VAT Regulations"),
    "VATEX-SA-30": ("E", "Real estate transactions mentioned in Article 30 of the VAT Regulations"),
    "VATEX-SA-32": ("Z", "Export of goods"),
    "VATEX-SA-33": ("Z", "Export of services"),
    "VATEX-SA-34-1": ("Z", "The international transport of Goods"),
    "VATEX-SA-34-2": ("Z", "international transport of passengers"),
    "VATEX-SA-34-3": ("Z", "services directly connected and incidental to a Supply of international "
                           "passenger transport"),
    "VATEX-SA-34-4": ("Z", "Supply of a qualifying means of transport"),
    "VATEX-SA-34-5": ("Z", "Any services relating to Goods or passenger transportation, as defined in "
                           "article twenty five of these Regulations"),
    "VATEX-SA-35": ("Z", "Medicines and medical equipment"),
    "VATEX-SA-36": ("Z", "Qualifying metals"),
    "VATEX-SA-EDU": ("Z", "Private education to citizen"),
    "VATEX-SA-HEA": ("Z", "Private healthcare to citizen"),
    "VATEX-SA-MLTRY": ("Z", "supply of qualified military goods"),
}


@dataclass(frozen=True)
class SigningKey:
    private_key_pem: str
    certificate_pem: str


@dataclass(frozen=True)
class Issued:
    xml: bytes
    uuid: str
    icv: int
    pih: str
    invoice_hash: str
    qr: str  # base64 TLV


# -- keys ------------------------------------------------------------------------------------------

def new_signing_key(common_name: str, organization: str, vat_number: str | None, now: datetime) -> SigningKey:
    """A secp256k1 key and a self-signed certificate (until onboarding gives a ZATCA one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256K1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "SA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64] or "seller"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, (vat_number or "unregistered")[:64]),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "salesrefund"),
    ])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=5 * 365))
            .sign(key, hashes.SHA256()))
    return SigningKey(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode(),
        cert.public_bytes(serialization.Encoding.PEM).decode())


def _cert(key: SigningKey):
    from cryptography import x509
    return x509.load_pem_x509_certificate(key.certificate_pem.encode())


# -- the document ----------------------------------------------------------------------------------

def subtype(record: CreditNoteRecord) -> str:
    return STANDARD if record.buyer.vat_number else SIMPLIFIED


def missing(record: CreditNoteRecord) -> list[str]:
    out = []
    s, b = record.seller, record.buyer
    if record.currency.code != "SAR":
        out.append("/currency (ZATCA documents are in SAR)")
    if not s.vat_number:
        out.append("/seller/vat_number")
    for field in ("street", "building_number", "city", "postal_code", "district"):
        if not getattr(s, field):
            out.append(f"/seller/{field}")
    if not s.registration_number:
        out.append("/seller/registration_number")
    if subtype(record) == STANDARD and (b.country or s.country or record.tenant_country) == "SA":
        for field in ("street", "building_number", "city", "postal_code", "district"):
            if not getattr(b, field):
                out.append(f"/customers/{b.code}/address/{field}")
    zero = any(not line.tax_rate for line in record.lines) or any(not row.rate for row in record.taxes)
    if zero and s.zatca_exemption_code not in EXEMPTIONS:
        out.append("/seller/zatca_exemption_code (a 0 % line needs a ZATCA exemption reason code)")
    return out


def category(record: CreditNoteRecord, rate: int) -> str:
    """BT-118/BT-151: S above 0 %; at 0 % the category of the seller's exemption code (Z or E)."""
    return "S" if rate else EXEMPTIONS[record.seller.zatca_exemption_code][0]


def build(record: CreditNoteRecord, *, uuid: str, icv: int, pih: str, issue_time: str) -> etree._Element:
    """The unsigned document (no extensions, no QR yet): what the invoice hash is taken of."""
    problems = missing(record)
    if problems:
        raise DocumentIncomplete("zatca", problems)
    b = Builder(record.currency)
    root = etree.Element(f"{{{NS_INV}}}Invoice", nsmap={None: NS_INV, "cac": CAC, "cbc": CBC, "ext": EXT})
    b.cbc(root, "ProfileID", "reporting:1.0")
    b.cbc(root, "ID", record.number)
    b.cbc(root, "UUID", uuid)
    b.cbc(root, "IssueDate", record.issue_date.isoformat())
    b.cbc(root, "IssueTime", issue_time)
    b.cbc(root, "InvoiceTypeCode", "381", name=subtype(record))
    if record.voided:
        b.cbc(root, "Note", "VOIDED after issue: to be reversed by a debit note", languageID="en")
    b.cbc(root, "DocumentCurrencyCode", record.currency.code)
    b.cbc(root, "TaxCurrencyCode", record.currency.code)
    ref = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
    b.cbc(ref, "ID", record.invoice.number if record.invoice else "unlinked")  # BR-KSA-56
    doc = b.cac(root, "AdditionalDocumentReference")
    b.cbc(doc, "ID", "ICV")
    b.cbc(doc, "UUID", str(icv))
    doc = b.cac(root, "AdditionalDocumentReference")
    b.cbc(doc, "ID", "PIH")
    b.cbc(b.cac(doc, "Attachment"), "EmbeddedDocumentBinaryObject", pih, mimeCode="text/plain")
    signature = b.cac(root, "Signature")
    b.cbc(signature, "ID", "urn:oasis:names:specification:ubl:signature:Invoice")
    b.cbc(signature, "SignatureMethod", "urn:oasis:names:specification:ubl:dsig:enveloped:xades")
    _party(b, b.cac(root, "AccountingSupplierParty"), record, seller=True)
    _party(b, b.cac(root, "AccountingCustomerParty"), record, seller=False)
    b.cbc(b.cac(root, "Delivery"), "ActualDeliveryDate",
          (record.invoice.date if record.invoice else record.issue_date).isoformat())
    means = b.cac(root, "PaymentMeans")
    codes = {PAYMENT_MEANS.get(p.kind, "1") for p in record.payments} or {"1"}
    b.cbc(means, "PaymentMeansCode", codes.pop() if len(codes) == 1 else "1")
    b.cbc(means, "InstructionNote", record.reason or "Refund")  # KSA-10, BR-KSA-17
    total = b.cac(root, "TaxTotal")  # in the tax currency (SAR), without subtotals
    b.amount(total, "TaxAmount", record.tax_minor)
    total = b.cac(root, "TaxTotal")
    b.amount(total, "TaxAmount", record.tax_minor)
    for row in record.taxes:
        sub = b.cac(total, "TaxSubtotal")
        b.amount(sub, "TaxableAmount", row.net_minor)
        b.amount(sub, "TaxAmount", row.tax_minor)
        node = b.cac(sub, "TaxCategory")
        b.cbc(node, "ID", category(record, row.rate), schemeID="UN/ECE 5305", schemeAgencyID="6")
        b.cbc(node, "Percent", percent(row.rate))
        if not row.rate:  # BR-KSA-69, BR-KSA-83, BR-KSA-CL-04
            code = record.seller.zatca_exemption_code
            b.cbc(node, "TaxExemptionReasonCode", code)
            b.cbc(node, "TaxExemptionReason", EXEMPTIONS[code][1])
        b.cbc(b.cac(node, "TaxScheme"), "ID", "VAT", schemeID="UN/ECE 5153", schemeAgencyID="6")
    monetary_total(b, root, record)
    for line in record.lines:
        _line(b, root, replace(line, allowance_minor=0), "InvoiceLine", "InvoicedQuantity", zatca=True,
              category=category(record, line.tax_rate))
    return root


def _party(b: Builder, parent, record: CreditNoteRecord, *, seller: bool) -> None:
    party = record.seller if seller else record.buyer
    node = b.cac(parent, "Party")
    if party.registration_number:
        b.cbc(b.cac(node, "PartyIdentification"), "ID", party.registration_number,
              schemeID=party.registration_scheme or ("CRN" if seller else "OTH"))
    b.address(node, party, zatca=True, country_default=record.seller.country or record.tenant_country)
    scheme = b.cac(node, "PartyTaxScheme")
    if party.vat_number:
        b.cbc(scheme, "CompanyID", party.vat_number)
    b.tax_scheme(scheme)
    b.cbc(b.cac(node, "PartyLegalEntity"), "RegistrationName", party.name)


# -- hash, QR, signature ---------------------------------------------------------------------------

def invoice_hash(xml: bytes) -> str:
    """ZATCA's invoice hash (base64 of SHA-256) of a document, signed or not."""
    doc = etree.fromstring(xml)
    for path in ("ext:UBLExtensions", "cac:Signature", "cac:AdditionalDocumentReference[cbc:ID='QR']"):
        for node in doc.xpath(path, namespaces=NS):
            _remove_keeping_text(node)
    return base64.b64encode(hashlib.sha256(etree.tostring(doc, method="c14n")).digest()).decode()


def _remove_keeping_text(node) -> None:
    """Remove an element but not the text after it (an XPath transform removes nodes, not text)."""
    parent, previous = node.getparent(), node.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + (node.tail or "")
    else:
        parent.text = (parent.text or "") + (node.tail or "")
    parent.remove(node)


def tlv(tags: list[bytes]) -> str:
    out = b""
    for number, value in enumerate(tags, start=1):
        if len(value) > 255:
            raise ValueError(f"QR tag {number} is longer than 255 bytes")
        out += bytes([number, len(value)]) + value
    return base64.b64encode(out).decode()


def read_tlv(qr: str) -> dict[int, bytes]:
    data, out, i = base64.b64decode(qr), {}, 0
    while i < len(data):
        tag, size = data[i], data[i + 1]
        out[tag] = data[i + 2:i + 2 + size]
        i += 2 + size
    return out


def qr_code(record: CreditNoteRecord, timestamp: str, hash_b64: str, signature_b64: str, key: SigningKey) -> str:
    """KSA-14: tags 1-5 (seller, VAT number, time, total with VAT, VAT) for every document;
    6-9 (hash, signature, public key, the certificate's signature) for simplified ones."""
    from cryptography.hazmat.primitives import serialization
    tags = [record.seller.name.encode(), (record.seller.vat_number or "").encode(), timestamp.encode(),
            format_amount(record.gross_minor, record.currency).encode(),
            format_amount(record.tax_minor, record.currency).encode()]
    if subtype(record) == SIMPLIFIED:
        cert = _cert(key)
        tags += [hash_b64.encode(), signature_b64.encode(),
                 cert.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo),
                 cert.signature]
    return tlv(tags)


def _sign(hash_b64: str, key: SigningKey) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    private = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    return base64.b64encode(private.sign(base64.b64decode(hash_b64), ec.ECDSA(hashes.SHA256()))).decode()


def _hex_digest_b64(data: bytes) -> str:
    """ZATCA's digest form for the certificate and the signed properties: base64 of the hex SHA-256."""
    return base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode()


def issue(record: CreditNoteRecord, *, uuid: str, icv: int, pih: str, key: SigningKey,
          signed_at: datetime, issue_time: str) -> Issued:
    """The signed document with its QR, for the chain position (``icv``, ``pih``)."""
    root = build(record, uuid=uuid, icv=icv, pih=pih, issue_time=issue_time)
    b = Builder(record.currency)
    # the QR goes after PIH, before cac:Signature; it and the extensions are filled in once the
    # hash is known (both are outside the hash, so filling them in leaves it unchanged)
    pih_ref = root.xpath("cac:AdditionalDocumentReference[cbc:ID='PIH']", namespaces=NS)[0]
    qr_ref = etree.Element(f"{{{CAC}}}AdditionalDocumentReference")
    pih_ref.addnext(qr_ref)
    b.cbc(qr_ref, "ID", "QR")
    b.cbc(b.cac(qr_ref, "Attachment"), "EmbeddedDocumentBinaryObject", "", mimeCode="text/plain")
    root.insert(0, _extensions(key, signed_at))
    doc = etree.fromstring(serialize(root))  # the final layout, whitespace included
    hash_b64 = invoice_hash(etree.tostring(doc))
    signature_b64 = _sign(hash_b64, key)
    qr = qr_code(record, f"{record.issue_date.isoformat()}T{issue_time}", hash_b64, signature_b64, key)
    doc.xpath("cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject",
              namespaces=NS)[0].text = qr
    doc.xpath("//ds:Reference[@Id='invoiceSignedData']/ds:DigestValue", namespaces=NS)[0].text = hash_b64
    doc.xpath("//ds:SignatureValue", namespaces=NS)[0].text = signature_b64
    props = doc.xpath("//xades:SignedProperties", namespaces=NS)[0]
    doc.xpath("//ds:Reference[@URI='#xadesSignedProperties']/ds:DigestValue", namespaces=NS)[0].text = \
        _hex_digest_b64(etree.tostring(props, method="c14n"))
    xml = etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
    assert invoice_hash(xml) == hash_b64
    return Issued(xml, uuid, icv, pih, hash_b64, qr)


def _extensions(key: SigningKey, signed_at: datetime):
    cert = _cert(key)
    cert_b64 = "".join(key.certificate_pem.strip().splitlines()[1:-1])
    E = lambda ns, tag, parent=None, text=None, **attrs: _el(ns, tag, parent, text, **attrs)  # noqa: E731
    exts = E(EXT, "UBLExtensions")
    ext = E(EXT, "UBLExtension", exts)
    E(EXT, "ExtensionURI", ext, "urn:oasis:names:specification:ubl:dsig:enveloped:xades")
    content = E(EXT, "ExtensionContent", ext)
    docs = etree.SubElement(content, f"{{{SIG}}}UBLDocumentSignatures", nsmap={"sig": SIG, "sac": SAC, "sbc": SBC})
    info = E(SAC, "SignatureInformation", docs)
    E(CBC, "ID", info, "urn:oasis:names:specification:ubl:signature:1")
    E(SBC, "ReferencedSignatureID", info, "urn:oasis:names:specification:ubl:signature:Invoice")
    sig = etree.SubElement(info, f"{{{DS}}}Signature", {"Id": "signature"}, nsmap={"ds": DS})
    signed_info = E(DS, "SignedInfo", sig)
    E(DS, "CanonicalizationMethod", signed_info, Algorithm="http://www.w3.org/2006/12/xml-c14n11")
    E(DS, "SignatureMethod", signed_info, Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
    ref = E(DS, "Reference", signed_info, Id="invoiceSignedData", URI="")
    transforms = E(DS, "Transforms", ref)
    for xpath in ("not(//ancestor-or-self::ext:UBLExtensions)", "not(//ancestor-or-self::cac:Signature)",
                  "not(//ancestor-or-self::cac:AdditionalDocumentReference[cbc:ID='QR'])"):
        E(DS, "XPath", E(DS, "Transform", transforms, Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"), xpath)
    E(DS, "Transform", transforms, Algorithm="http://www.w3.org/2006/12/xml-c14n11")
    E(DS, "DigestMethod", ref, Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    E(DS, "DigestValue", ref, "")
    props_ref = E(DS, "Reference", signed_info, Type="http://www.w3.org/2000/09/xmldsig#SignatureProperties",
                  URI="#xadesSignedProperties")
    E(DS, "DigestMethod", props_ref, Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    E(DS, "DigestValue", props_ref, "")
    E(DS, "SignatureValue", sig, "")
    E(DS, "X509Certificate", E(DS, "X509Data", E(DS, "KeyInfo", sig)), cert_b64)
    obj = E(DS, "Object", sig)
    qualifying = etree.SubElement(obj, f"{{{XADES}}}QualifyingProperties", {"Target": "signature"},
                                  nsmap={"xades": XADES})
    props = E(XADES, "SignedProperties", qualifying, Id="xadesSignedProperties")
    sprops = E(XADES, "SignedSignatureProperties", props)
    E(XADES, "SigningTime", sprops, signed_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    cert_node = E(XADES, "Cert", E(XADES, "SigningCertificate", sprops))
    digest = E(XADES, "CertDigest", cert_node)
    E(DS, "DigestMethod", digest, Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    E(DS, "DigestValue", digest, _hex_digest_b64(cert_b64.encode()))
    serial = E(XADES, "IssuerSerial", cert_node)
    E(DS, "X509IssuerName", serial, cert.issuer.rfc4514_string())
    E(DS, "X509SerialNumber", serial, str(cert.serial_number))
    return exts


def _el(ns: str, tag: str, parent=None, text: str | None = None, **attrs):
    node = etree.Element(f"{{{ns}}}{tag}", attrs) if parent is None else etree.SubElement(
        parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


# -- verification ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parsed:
    icv: int
    pih: str
    uuid: str
    digest: str  # the DigestValue the signature carries
    signature: str
    certificate_b64: str
    qr: str


def parse(xml: bytes) -> Parsed:
    doc = etree.fromstring(xml)

    def one(path: str) -> str:
        found = doc.xpath(path, namespaces=NS)
        return (found[0] if isinstance(found[0], str) else found[0].text or "").strip() if found else ""

    return Parsed(
        icv=int(one("cac:AdditionalDocumentReference[cbc:ID='ICV']/cbc:UUID") or 0),
        pih=one("cac:AdditionalDocumentReference[cbc:ID='PIH']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"),
        uuid=one("cbc:UUID"),
        digest=one("//ds:Reference[@Id='invoiceSignedData']/ds:DigestValue"),
        signature=one("//ds:SignatureValue"),
        certificate_b64=one("//ds:X509Certificate"),
        qr=one("cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"))


def verify(xml: bytes, certificate_pem: str) -> list[str]:
    """What is wrong with a signed document: its hash, its signature by ``certificate_pem``'s key,
    the QR's hash and signature (simplified). Empty when it is intact."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    problems = []
    parsed = parse(xml)
    actual = invoice_hash(xml)
    if parsed.digest != actual:
        problems.append(f"the document's hash is {actual}, its signature was made for {parsed.digest}")
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        cert.public_key().verify(base64.b64decode(parsed.signature), base64.b64decode(actual),
                                 ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        problems.append("the signature does not verify with the tenant's certificate")
    tags = read_tlv(parsed.qr) if parsed.qr else {}
    if 6 in tags and tags[6].decode() != actual:
        problems.append("the QR code carries another hash")
    return problems
