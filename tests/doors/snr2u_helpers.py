"""Helpers of the SnR2U door tests: the document's request template (as printed, and filled in with
the demo tenant's data), and every message template in src/ (what the Malay catalog must translate)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import salesrefund

from salesrefund.http.dialects import jsv

# The request sample of seed document 004, verbatim (pretty-printed JSV).
TEMPLATE_JSV = """{
CustomerRefundNote:
{
DocumentHeader:
{
AcCusRefundNoteMID: String,
AcCustomerID: String,
AcTermID: String,
AcSalesmanID: String,
AcLocationID: String,
DocumentDate: 0001-01-01,
DocumentNetAmount: 0,
DocumentCentBalance: 0,
DocumentFinalAmount: 0,
AcCusInvoiceMID: String,
DocumentReason: String,
RefDocumentNo: String,
DocumentRemark: String,
ExtraRemark1: String,
ExtraRemark2: String,
ExtraRemark3: String,
ExtraRemark4: String,
DocumentYourReference: String,
ShipToRemark: String,
ShipToShipVia: String,
ShipToAddress1: String,
ShipToAddress2: String,
ShipToAddress3: String,
ShipToAddress4: String,
ShipToPhone1: String,
ShipToPhone2: String,
ShipToFax: String,
ShipToContact1: String,
ShipToContact2: String,
ShipToAttention: String,
EditDate: 0001-01-01,
IsUseAcStockCompanyIDForStockValidation: False,
IsUseTransactionBuyerElement: False,
AcEInvoiceDocumentFlowID: String,
EInvoiceRegName_Buyer: String,
EInvoiceRegTIN_Buyer: String,
EInvoiceRegNumber_Buyer: String,
EInvoiceBuyerIsMalaysian: String,
EInvoiceBuyerRegType: String,
EInvoiceRegSSTNumber_Buyer: String,
EInvoiceRegEmail_Buyer: String,
EInvoiceAddressLine0_Buyer: String,
EInvoiceAddressLine1_Buyer: String,
EInvoiceAddressLine2_Buyer: String,
EInvoiceAddressPostalZone_Buyer: String,
EInvoiceAddressCityName_Buyer: String,
AcEInvoiceAddressStateID_Buyer: String,
AcEInvoiceAddressCountryID_Buyer: String,
EInvoiceRegContactNumber_Buyer: String,
IsEnableEInvoiceMYS: String,
AcEInvoiceDocumentStatusID: String,
IsConsolidatedEInvoice: String,
EInvoiceDocumentNumber_Consolidated: String,
EInvoiceSubmissionUUID: String,
EInvoiceValidationUUID: String,
EInvoiceValidationDateTime: 0001-01-01,
EInvoiceValidationLink: String,
AcCustomerName: String
},
DocumentDetails:
[
{
AcCusRefundNoteDID: String,
AcCusRefundNoteMID: String,
ItemNo: 0,
AcStockID: String,
AcStockUOMID: String,
ItemUnitPrice: 0,
ItemQuantity: 0,
ItemGrossTotal: 0,
ItemDiscountAmount: 0,
ItemTotalPrice: 0,
ItemRemark1: String,
AcEInvoiceItemClassificationID: String,
AcEInvoiceItemTaxTypeID: String
}
],
DocumentPaymentDetails:
[
{
AcCusRefundNoteMID: String,
ItemNo: 0,
AcBillPaymentMethodID: String,
ItemReferenceNumber: String,
ItemRemark1: String,
ItemCurrencyPaymentAmount: 0
}
]
}
}"""

# The response sample of seed document 004, verbatim (one line there; placeholders for values).
RESPONSE_JSV = (
    '{ CustomerRefundNote: { DocumentHeader: { AcCusRefundNoteMID: String, AcCustomerID: String, '
    'AcTermID: String, AcSalesmanID: String, AcLocationID: String, DocumentDate: 0001-01-01, '
    'DocumentNetAmount: 0, DocumentCentBalance: 0, DocumentFinalAmount: 0, AcCusInvoiceMID: String, '
    'DocumentReason: String, RefDocumentNo: String, DocumentRemark: String, ExtraRemark1: String, '
    'ExtraRemark2: String, ExtraRemark3: String, ExtraRemark4: String, DocumentYourReference: String, '
    'ShipToRemark: String, ShipToShipVia: String, ShipToAddress1: String, ShipToAddress2: String, '
    'ShipToAddress3: String, ShipToAddress4: String, ShipToPhone1: String, ShipToPhone2: String, '
    'ShipToFax: String, ShipToContact1: String, ShipToContact2: String, ShipToAttention: String, '
    'EditDate: 0001-01-01, IsUseAcStockCompanyIDForStockValidation: False, IsUseTransactionBuyerElement: '
    'False, AcEInvoiceDocumentFlowID: String, EInvoiceRegName_Buyer: String, EInvoiceRegTIN_Buyer: '
    'String, EInvoiceRegNumber_Buyer: String, EInvoiceBuyerIsMalaysian: String, EInvoiceBuyerRegType: '
    'String, EInvoiceRegSSTNumber_Buyer: String, EInvoiceRegEmail_Buyer: String, '
    'EInvoiceAddressLine0_Buyer: String, EInvoiceAddressLine1_Buyer: String, EInvoiceAddressLine2_Buyer: '
    'String, EInvoiceAddressPostalZone_Buyer: String, EInvoiceAddressCityName_Buyer: String, '
    'AcEInvoiceAddressStateID_Buyer: String, AcEInvoiceAddressCountryID_Buyer: String, '
    'EInvoiceRegContactNumber_Buyer: String, IsEnableEInvoiceMYS: String, AcEInvoiceDocumentStatusID: '
    'String, IsConsolidatedEInvoice: String, EInvoiceDocumentNumber_Consolidated: String, '
    'EInvoiceSubmissionUUID: String, EInvoiceValidationUUID: String, EInvoiceValidationDateTime: '
    '0001-01-01, EInvoiceValidationLink: String, AcCustomerName: String }, DocumentDetails: [ { '
    'AcCusRefundNoteDID: String, AcCusRefundNoteMID: String, ItemNo: 0, AcStockID: String, AcStockUOMID: '
    'String, ItemUnitPrice: 0, ItemQuantity: 0, ItemGrossTotal: 0, ItemDiscountAmount: 0, ItemTotalPrice: '
    '0, ItemRemark1: String, AcEInvoiceItemClassificationID: String, AcEInvoiceItemTaxTypeID: String } ], '
    'DocumentPaymentDetails: [ { AcCusRefundNoteMID: String, ItemNo: 0, AcBillPaymentMethodID: String, '
    'ItemReferenceNumber: String, ItemRemark1: String, ItemCurrencyPaymentAmount: 0 } ] }, '
    'ResponseStatus: { ErrorCode: String, Message: String, StackTrace: String, Errors: [ { ErrorCode: '
    'String, FieldName: String, Message: String, Meta: { String: String } } ], Meta: { String: String } } '
    '}'
)

# The same template filled in with the demo tenant's data (seeds/snr2u.py): refund one flask at
# full price and one mug less a 0.02 discount, 20.38 MYR, paid back in cash rounded to 20.40.
# Read-only fields keep their placeholders: the server ignores them and fills them in.
FILLED_JSV = """{
CustomerRefundNote:
{
DocumentHeader:
{
AcCusRefundNoteMID: RN-00001,
AcCustomerID: 300-C001,
AcTermID: C.O.D.,
AcSalesmanID: SM-01,
AcLocationID: HQ,
DocumentDate: 2026-06-15,
DocumentNetAmount: 20.38,
DocumentCentBalance: 0.02,
DocumentFinalAmount: 20.40,
AcCusInvoiceMID: IV-00001,
DocumentReason: Damaged in transit,
RefDocumentNo: RMA-7781,
DocumentRemark: Returned at the HQ counter,
ExtraRemark1: Checked by Aina,
ExtraRemark2: Flask lid dented,
ExtraRemark3: Mug chipped,
ExtraRemark4: Goodwill 0.02 off the mug,
DocumentYourReference: PO-4410,
ShipToRemark: Self collect,
ShipToShipVia: Counter,
ShipToAddress1: "No. 12, Jalan Ampang",
ShipToAddress2: Taman Maju,
ShipToAddress3: 50450 Kuala Lumpur,
ShipToAddress4: Wilayah Persekutuan,
ShipToPhone1: 03-2161 0000,
ShipToPhone2: 012-345 6789,
ShipToFax: 03-2161 0001,
ShipToContact1: Aina Rahman,
ShipToContact2: Lim Wei Jie,
ShipToAttention: Accounts Payable,
EditDate: 2026-06-15T10:30:00,
IsUseAcStockCompanyIDForStockValidation: False,
IsUseTransactionBuyerElement: False,
AcEInvoiceDocumentFlowID: Not Applicable,
EInvoiceRegName_Buyer: Kedai Runcit Maju Sdn. Bhd.,
EInvoiceRegTIN_Buyer: C20880050010,
EInvoiceRegNumber_Buyer: 201901012345,
EInvoiceBuyerIsMalaysian: Y,
EInvoiceBuyerRegType: BRN,
EInvoiceRegSSTNumber_Buyer: NA,
EInvoiceRegEmail_Buyer: accounts@maju.example.my,
EInvoiceAddressLine0_Buyer: No. 12 Jalan Ampang,
EInvoiceAddressLine1_Buyer: Taman Maju,
EInvoiceAddressLine2_Buyer: Kuala Lumpur,
EInvoiceAddressPostalZone_Buyer: 50450,
EInvoiceAddressCityName_Buyer: Kuala Lumpur,
AcEInvoiceAddressStateID_Buyer: 14,
AcEInvoiceAddressCountryID_Buyer: MYS,
EInvoiceRegContactNumber_Buyer: +60321610000,
IsEnableEInvoiceMYS: String,
AcEInvoiceDocumentStatusID: String,
IsConsolidatedEInvoice: String,
EInvoiceDocumentNumber_Consolidated: String,
EInvoiceSubmissionUUID: String,
EInvoiceValidationUUID: String,
EInvoiceValidationDateTime: 0001-01-01,
EInvoiceValidationLink: String,
AcCustomerName: String
},
DocumentDetails:
[
{
AcCusRefundNoteDID: 3f2b8c4e-5d6a-4b7c-9e8f-0a1b2c3d4e5f,
AcCusRefundNoteMID: RN-00001,
ItemNo: 1,
AcStockID: ITEM-001,
AcStockUOMID: UNIT,
ItemUnitPrice: 12.5000,
ItemQuantity: 1.0000,
ItemGrossTotal: 12.50,
ItemDiscountAmount: 0.00,
ItemTotalPrice: 12.50,
ItemRemark1: Dented lid,
AcEInvoiceItemClassificationID: String,
AcEInvoiceItemTaxTypeID: String
},
{
AcCusRefundNoteDID: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d,
AcCusRefundNoteMID: RN-00001,
ItemNo: 2,
AcStockID: ITEM-002,
AcStockUOMID: UNIT,
ItemUnitPrice: 7.9000,
ItemQuantity: 1.0000,
ItemGrossTotal: 7.90,
ItemDiscountAmount: 0.02,
ItemTotalPrice: 7.88,
ItemRemark1: "Chipped, goodwill discount",
AcEInvoiceItemClassificationID: String,
AcEInvoiceItemTaxTypeID: String
}
],
DocumentPaymentDetails:
[
{
AcCusRefundNoteMID: RN-00001,
ItemNo: 1,
AcBillPaymentMethodID: CASH,
ItemReferenceNumber: CR-0001,
ItemRemark1: Refunded at counter,
ItemCurrencyPaymentAmount: 20.40
}
]
}
}"""

# The body of the curl example in docs/doors/snr2u.md: only the required fields, compact as
# ServiceStack writes JSV; $TODAY is the refund note's date (the demo invoice is a week old).
CURL_JSV = (
    "{CustomerRefundNote:{DocumentHeader:{AcCusRefundNoteMID:RN-00001,AcCustomerID:300-C001,"
    "AcLocationID:HQ,DocumentDate:$TODAY,DocumentNetAmount:20.38,DocumentCentBalance:0.02,"
    "DocumentFinalAmount:20.40,AcCusInvoiceMID:IV-00001,DocumentReason:Damaged in transit,EditDate:$TODAY,"
    "EInvoiceBuyerIsMalaysian:Y},DocumentDetails:[{AcCusRefundNoteDID:RN-00001-1,AcCusRefundNoteMID:RN-00001,"
    "ItemNo:1,AcStockID:ITEM-001,AcStockUOMID:UNIT,ItemUnitPrice:12.5000,ItemQuantity:1.0000,ItemGrossTotal:12.50,"
    "ItemDiscountAmount:0.00,ItemTotalPrice:12.50,ItemRemark1:Dented lid},{AcCusRefundNoteDID:RN-00001-2,"
    "AcCusRefundNoteMID:RN-00001,ItemNo:2,AcStockID:ITEM-002,AcStockUOMID:UNIT,ItemUnitPrice:7.9000,"
    "ItemQuantity:1.0000,ItemGrossTotal:7.90,ItemDiscountAmount:0.02,ItemTotalPrice:7.88,ItemRemark1:Chipped}],"
    "DocumentPaymentDetails:[{AcCusRefundNoteMID:RN-00001,ItemNo:1,AcBillPaymentMethodID:CASH,"
    "ItemRemark1:Refunded at counter,ItemCurrencyPaymentAmount:20.40}]}}")

_NUMBERS = {"DocumentNetAmount", "DocumentCentBalance", "DocumentFinalAmount", "ItemNo", "ItemUnitPrice",
            "ItemQuantity", "ItemGrossTotal", "ItemDiscountAmount", "ItemTotalPrice", "ItemCurrencyPaymentAmount"}
_BOOLEANS = {"IsUseAcStockCompanyIDForStockValidation", "IsUseTransactionBuyerElement"}


def as_json(value, key=None):
    """A decoded JSV document typed as a JSON client sends it: numbers and booleans unquoted."""
    if isinstance(value, dict):
        return {k: as_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if key in _NUMBERS and value is not None:
        return json.loads(value) if "." not in value else _Raw(value)
    if key in _BOOLEANS:
        return value == "True"
    return value


class _Raw(str):
    """A number kept as its exact text; ``json_text`` writes it unquoted."""


def json_text(value) -> str:
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


FILLED = jsv.decode(FILLED_JSV)  # strings throughout, as JSV decodes
FILLED_JSON = json_text(as_json(FILLED))  # the same request as a JSON client sends it


# -- message templates (R18) ---------------------------------------------------------------------
# Templates are the English message of a ``Violation``, found where violations are made: the calls
# below, with the message at the given position (``money._bad`` prefixes ``{field_name} ``).
# Messages built with an f-string cannot be found this way; ``money.scaled``'s is expanded
# for the units and currencies the doors use.

SRC = Path(salesrefund.__file__).parent

# function name -> position of the message argument
MESSAGE_AT = {"reject": 2, "_error": 2, "Violation": 2, "broken": 2, "invalid": 1, "_invalid": 1,
              "_violation": 1, "_bad": 1, "_malformed": 0}
NOT_MESSAGES = {"http/app.py"}  # the native problem+json handlers: not localized


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def templates_in(path: Path) -> tuple[set[str], list[int]]:
    """(templates, line numbers of messages that are not plain string constants)."""
    found, dynamic = set(), []
    money = path.name == "money.py" and path.parent.name == "domain"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _name(node) == "_same" and len(node.args) > 3 and isinstance(node.args[3], ast.Constant):
            found.add(node.args[3].value)  # refunds._same's {what}: a phrase doors translate too
            continue
        at = MESSAGE_AT.get(_name(node))
        if at is None or len(node.args) <= at:
            continue
        prefix = "{field_name} " if money and _name(node) == "_bad" else ""
        for arg in _branches(node.args[at]):
            if isinstance(arg, ast.Name) and arg.id in constants:
                found.add(prefix + constants[arg.id])
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(prefix + arg.value)
            else:
                dynamic.append(node.lineno)
    return found, dynamic


def _branches(arg: ast.expr) -> list[ast.expr]:
    """``"a" if x else "b"`` is two templates."""
    if isinstance(arg, ast.IfExp):
        return _branches(arg.body) + _branches(arg.orelse)
    return [arg]


def money_decimals_templates() -> set[str]:
    """``money.scaled``'s f-string message, for quantities, prices and rates (4 decimals) and for the
    currencies the seed tenants and the tests use (MNT priced in whole tugrik)."""
    out = {f"{{field_name}} allows at most 4 decimals for this {what}" for what in ("quantity", "price", "tax rate")}
    currencies = {"MYR": 2, "SAR": 2, "EUR": 2, "USD": 2, "GBP": 2, "MNT": 0, "JPY": 0, "KWD": 3}
    return out | {f"{{field_name}} allows at most {places} decimal{'s' if places != 1 else ''} for this "
                  f"currency ({code})" for code, places in currencies.items()}


def all_templates(only: tuple[str, ...] | None = None) -> set[str]:
    """Every template under src/salesrefund (or only under the given relative paths)."""
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative in NOT_MESSAGES or "migrations" in relative:
            continue
        if only is not None and not any(relative.startswith(prefix) for prefix in only):
            continue
        found |= templates_in(path)[0]
    return found | money_decimals_templates()


def from_camel(value):
    """A JSON answer in ServiceStack's default camelCase names, back in the document's PascalCase
    (``customerRefundNote`` -> ``CustomerRefundNote``, ``eInvoiceRegName_Buyer`` ->
    ``EInvoiceRegName_Buyer``); a ``meta`` dictionary's keys are data and stay as they are. Fails
    on a name that is not camelCase."""
    if isinstance(value, list):
        return [from_camel(item) for item in value]
    if not isinstance(value, dict):
        return value
    assert all(key[:1].islower() for key in value), f"not camelCase: {list(value)}"
    return {key[0].upper() + key[1:]: item if key == "meta" else from_camel(item) for key, item in value.items()}
