"""The SnR2U document's fields (``HEADER``, ``DETAIL``, ``PAYMENT``: name, kind, required, limit) and
our JSON pointers as its field names (``/lines/0/quantity`` -> ``DocumentDetails[0].ItemQuantity``)."""

from __future__ import annotations

import re

CHANNEL = "snr2u"
MAX_ITEMS = 1000  # details or payment details per refund note
MAX_TEXT = 4000  # NVARCHAR(MAX) fields
INT_MAX = 2**31 - 1


# -- the document's fields ---------------------------------------------------------------------------
# (name, kind, required, max length or choices). Kinds: code (a non-blank reference), text, amount,
# price, quantity, int, bool, date, datetime, choice, readonly (server-filled: ignored when sent).

HEADER = (
    ("AcCusRefundNoteMID", "code", True, 20),
    ("AcCustomerID", "code", True, 20),
    ("AcTermID", "text", False, 40),
    ("AcSalesmanID", "text", False, 20),
    ("AcLocationID", "code", True, 20),
    ("DocumentDate", "date", True, None),
    ("DocumentNetAmount", "amount", True, None),
    ("DocumentCentBalance", "amount", True, None),
    ("DocumentFinalAmount", "amount", True, None),
    ("AcCusInvoiceMID", "code", True, 20),
    ("DocumentReason", "code", True, 100),
    ("RefDocumentNo", "text", False, 100),
    ("DocumentRemark", "text", False, 100),
    ("ExtraRemark1", "text", False, 100),
    ("ExtraRemark2", "text", False, 100),
    ("ExtraRemark3", "text", False, 100),
    ("ExtraRemark4", "text", False, 100),
    ("DocumentYourReference", "text", False, 50),
    ("ShipToRemark", "text", False, 100),
    ("ShipToShipVia", "text", False, 20),
    ("ShipToAddress1", "text", False, MAX_TEXT),
    ("ShipToAddress2", "text", False, 100),
    ("ShipToAddress3", "text", False, 100),
    ("ShipToAddress4", "text", False, 100),
    ("ShipToPhone1", "text", False, 100),
    ("ShipToPhone2", "text", False, 100),
    ("ShipToFax", "text", False, 100),
    ("ShipToContact1", "text", False, 100),
    ("ShipToContact2", "text", False, 100),
    ("ShipToAttention", "text", False, 100),
    ("EditDate", "datetime", True, None),
    ("IsUseAcStockCompanyIDForStockValidation", "bool", False, None),
    ("IsUseTransactionBuyerElement", "bool", False, None),
    ("AcEInvoiceDocumentFlowID", "choice", False, ("Open", "Ready to Submit", "Not Applicable")),
    ("EInvoiceRegName_Buyer", "text", False, 300),
    ("EInvoiceRegTIN_Buyer", "text", False, 40),
    ("EInvoiceRegNumber_Buyer", "text", False, 40),
    ("EInvoiceBuyerIsMalaysian", "choice", True, ("Y", "N")),
    ("EInvoiceBuyerRegType", "choice", False, ("NRIC", "BRN", "PASSPORT", "ARMY")),
    ("EInvoiceRegSSTNumber_Buyer", "text", False, 40),
    ("EInvoiceRegEmail_Buyer", "text", False, 320),
    ("EInvoiceAddressLine0_Buyer", "text", False, 150),
    ("EInvoiceAddressLine1_Buyer", "text", False, 150),
    ("EInvoiceAddressLine2_Buyer", "text", False, 150),
    ("EInvoiceAddressPostalZone_Buyer", "text", False, 50),
    ("EInvoiceAddressCityName_Buyer", "text", False, 50),
    ("AcEInvoiceAddressStateID_Buyer", "choice", False, tuple(f"{n:02d}" for n in range(18))),
    ("AcEInvoiceAddressCountryID_Buyer", "country", False, 20),
    ("EInvoiceRegContactNumber_Buyer", "text", False, 20),
    ("IsEnableEInvoiceMYS", "readonly", False, None),
    ("AcEInvoiceDocumentStatusID", "readonly", False, None),
    ("IsConsolidatedEInvoice", "readonly", False, None),
    ("EInvoiceDocumentNumber_Consolidated", "readonly", False, None),
    ("EInvoiceSubmissionUUID", "readonly", False, None),
    ("EInvoiceValidationUUID", "readonly", False, None),
    ("EInvoiceValidationDateTime", "readonly", False, None),
    ("EInvoiceValidationLink", "readonly", False, None),
    ("AcCustomerName", "readonly", False, None),
)
DETAIL = (
    ("AcCusRefundNoteDID", "code", True, 40),
    ("AcCusRefundNoteMID", "code", True, 20),
    ("ItemNo", "int", True, None),
    ("AcStockID", "code", True, 40),
    ("AcStockUOMID", "code", True, 20),
    ("ItemUnitPrice", "price", True, None),
    ("ItemQuantity", "quantity", True, None),
    ("ItemGrossTotal", "amount", True, None),
    ("ItemDiscountAmount", "amount", True, None),
    ("ItemTotalPrice", "amount", True, None),
    ("ItemRemark1", "text", True, MAX_TEXT),
    ("AcEInvoiceItemClassificationID", "readonly", False, None),
    ("AcEInvoiceItemTaxTypeID", "readonly", False, None),
)
PAYMENT = (
    ("AcCusRefundNoteMID", "code", True, 20),
    ("ItemNo", "int", True, None),
    ("AcBillPaymentMethodID", "code", True, 20),
    ("ItemReferenceNumber", "text", False, 100),
    ("ItemRemark1", "text", True, MAX_TEXT),
    ("ItemCurrencyPaymentAmount", "amount", True, None),
)
NOTE = (("DocumentHeader", "object", True, None), ("DocumentDetails", "list", True, None),
        ("DocumentPaymentDetails", "list", True, None))
ENVELOPE = (("CustomerRefundNote", "object", True, None),)

# Header fields kept in the refund's metadata and echoed back (the rest map onto the command).
HEADER_ECHOED = tuple(name for name, kind, _, _ in HEADER if kind != "readonly" and name not in (
    "AcCusRefundNoteMID", "AcCustomerID", "AcLocationID", "DocumentDate", "DocumentNetAmount",
    "DocumentCentBalance", "DocumentFinalAmount", "AcCusInvoiceMID", "DocumentReason"))


# -- field names ------------------------------------------------------------------------------------

_POINTERS = {
    "": "", "/": "",
    "/invoice": "DocumentHeader.AcCusInvoiceMID",
    "/customer": "DocumentHeader.AcCustomerID",
    "/currency": "DocumentHeader",
    "/reason": "DocumentHeader.DocumentReason",
    "/posting_date": "DocumentHeader.DocumentDate",
    "/document_date": "DocumentHeader.DocumentDate",
    "/location": "DocumentHeader.AcLocationID",
    "/lines": "DocumentDetails",
    "/payments": "DocumentPaymentDetails",
    "/expected/net": "DocumentHeader.DocumentNetAmount",
    "/expected/rounding": "DocumentHeader.DocumentCentBalance",
    "/expected/total": "DocumentHeader.DocumentFinalAmount",
    "/headers/Authorization": "Authorization",
}
_LINE_FIELDS = {"product": "AcStockID", "line": "AcStockID", "unit": "AcStockUOMID", "quantity": "ItemQuantity",
                "unit_price": "ItemUnitPrice", "amount": "ItemTotalPrice", "description": "ItemRemark1",
                "tax_rate": "AcStockID"}
_EXPECTED_FIELDS = {"extended": "ItemGrossTotal", "total": "ItemTotalPrice", "unit_price": "ItemUnitPrice",
                    "discount": "ItemDiscountAmount"}
_PAYMENT_FIELDS = {"method": "AcBillPaymentMethodID", "amount": "ItemCurrencyPaymentAmount",
                   "reference": "ItemReferenceNumber"}
_INDEXED = re.compile(r"^/(lines|payments|expected/lines)/(\d+)(?:/(\w+))?$")


def field_name(pointer: str) -> str:
    """The document's name for a field the engine names by JSON pointer (door names pass through)."""
    if not pointer.startswith("/") and pointer != "":
        return pointer
    if pointer in _POINTERS:
        return _POINTERS[pointer]
    match = _INDEXED.match(pointer)
    if match is None:
        return pointer
    where, index, name = match.groups()
    if where == "payments":
        row = f"DocumentPaymentDetails[{index}]"
        return f"{row}.{_PAYMENT_FIELDS[name]}" if name in _PAYMENT_FIELDS else row
    if where == "lines" and name == "location":
        return "DocumentHeader.AcLocationID"
    names = _LINE_FIELDS if where == "lines" else _EXPECTED_FIELDS
    row = f"DocumentDetails[{index}]"
    return f"{row}.{names[name]}" if name in names else row
