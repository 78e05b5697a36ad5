"""The SnR2U door (seed document 004): POST /CustomerRefundNotes/simple in JSON and JSV.

Each test builds the demo tenant of ``seeds/snr2u.py`` under its own name (tokens are unique across
tenants, so each gets its own API key): customer 300-C001, location HQ, invoice IV-00001 (4 x ITEM-001
at 12.50 + 2 x ITEM-002 at 7.90 = 65.80 MYR, cash), cash rounded to 5 sen.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import uuid

import pytest

from salesrefund import i18n
from salesrefund.http.dialects import jsv, servicestack, snr2u
from salesrefund.http.problems import loads_exact
from salesrefund.seeds import snr2u as seed
from salesrefund.service.tenants import authenticate, revoke_token, set_tenant_settings, tenant_id_by_name
from snr2u_helpers import (
    CURL_JSV, FILLED, FILLED_JSON, FILLED_JSV, RESPONSE_JSV, TEMPLATE_JSV, all_templates, as_json, from_camel,
    json_text,
)

PATH = "/CustomerRefundNotes/simple"
JSV = "text/jsv"
_names = itertools.count(1)


@pytest.fixture
def demo(engine, clock):
    """The seed tenant under a unique name: {name, token (admin), key (the SnR2U API key)}."""
    n = next(_names)
    name, token, key = f"snr2u-t{n}-{uuid.uuid4().hex[:6]}", f"sr_{uuid.uuid4().hex}", f"key-{uuid.uuid4().hex}"
    assert seed.create(engine, clock, name=name, token=token, api_key=key)
    return {"name": name, "token": token, "key": key}


@pytest.fixture
def post(client, demo):
    """``post(body, fmt="jsv"|"json", key=..., **headers)``: body is decoded JSV (a dict), or text."""

    def send(body=None, fmt: str = "jsv", key: str | None = None, path: str = PATH, params=None, **headers):
        if body is None:
            body = FILLED
        if not isinstance(body, (str, bytes)):
            body = jsv.encode(body) if fmt == "jsv" else json_text(as_json(body))
        sent = {"Content-Type": JSV if fmt == "jsv" else "application/json"}
        if key is not False:
            sent["Authorization"] = f"Bearer {key or demo['key']}"
        sent.update({k.replace("_", "-"): v for k, v in headers.items()})
        return client.post(path, content=body, headers=sent, params=params)

    return send


def answer(response) -> dict:
    """The response body decoded from its own format (JSV values are all strings), with the
    document's PascalCase names (JSON comes in camelCase, ServiceStack's default: checked)."""
    if response.headers["content-type"].startswith(JSV):
        return jsv.decode(response.content)
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    return from_camel(loads_exact(response.content))


def status(response) -> dict:
    return answer(response)["ResponseStatus"]


def errors(response) -> list[tuple[str, str]]:
    return [(e["FieldName"], e["ErrorCode"]) for e in status(response)["Errors"]]


def native(client, demo, path: str, **params):
    response = client.get(path, headers={"Authorization": f"Bearer {demo['token']}"}, params=params or None)
    assert response.status_code == 200, response.text
    return response.json()


def refunds_of(client, demo) -> list[dict]:
    return native(client, demo, "/v1/refunds", invoice=seed.INVOICE)["items"]


def renumber(body: dict, mid: str) -> dict:
    """A copy of ``body`` as another refund note: ``mid`` in the header and on every row."""
    body = change(body, "DocumentHeader.AcCusRefundNoteMID", mid)
    for group in ("DocumentDetails", "DocumentPaymentDetails"):
        for i in range(len(body["CustomerRefundNote"][group])):
            body = change(body, f"{group}[{i}].AcCusRefundNoteMID", mid)
    return body


def change(body: dict, where: str, value=..., *, delete: bool = False) -> dict:
    """A copy of ``body`` with the field at ``where`` (``DocumentDetails[1].ItemQuantity``) set or removed."""
    body = copy.deepcopy(body)  # keeps the exact JSON numbers of as_json()
    node = body["CustomerRefundNote"]
    parts = where.split(".")
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        node = node[name] if not index else node[name][int(index[:-1])]
    if delete:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return body


# -- the document's example ------------------------------------------------------------------------------

def test_the_filled_template_in_jsv_succeeds_and_answers_in_jsv(post, client, demo):
    response = post(FILLED_JSV, Accept=JSV)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/jsv; charset=utf-8"
    note = answer(response)["CustomerRefundNote"]
    header = note["DocumentHeader"]
    assert (header["AcCusRefundNoteMID"], header["AcCustomerID"], header["AcCusInvoiceMID"]) == (
        "RN-00001", "300-C001", "IV-00001")
    assert (header["DocumentNetAmount"], header["DocumentCentBalance"], header["DocumentFinalAmount"]) == (
        "20.38", "0.02", "20.40")
    assert header["DocumentDate"] == "2026-06-15" and header["AcLocationID"] == "HQ"
    # read-only fields: what the client sent ("String") is ignored; the server fills them in
    assert header["AcCustomerName"] == seed.CUSTOMER_NAME
    assert (header["IsEnableEInvoiceMYS"], header["IsConsolidatedEInvoice"]) == ("N", "N")
    assert header["AcEInvoiceDocumentStatusID"] is None and header["EInvoiceValidationDateTime"] is None
    # optional fields are kept and echoed
    assert header["ShipToAddress1"] == "No. 12, Jalan Ampang" and header["ExtraRemark4"] == "Goodwill 0.02 off the mug"
    assert header["EditDate"] == "2026-06-15T10:30:00" and header["EInvoiceBuyerIsMalaysian"] == "Y"
    first, second = note["DocumentDetails"]
    assert first == {
        "AcCusRefundNoteDID": "3f2b8c4e-5d6a-4b7c-9e8f-0a1b2c3d4e5f", "AcCusRefundNoteMID": "RN-00001", "ItemNo": "1",
        "AcStockID": "ITEM-001", "AcStockUOMID": "UNIT", "ItemUnitPrice": "12.5000", "ItemQuantity": "1.0000",
        "ItemGrossTotal": "12.50", "ItemDiscountAmount": "0.00", "ItemTotalPrice": "12.50",
        "ItemRemark1": "Dented lid", "AcEInvoiceItemClassificationID": "022", "AcEInvoiceItemTaxTypeID": "06"}
    assert (second["ItemGrossTotal"], second["ItemDiscountAmount"], second["ItemTotalPrice"]) == ("7.90", "0.02", "7.88")
    assert note["DocumentPaymentDetails"] == [{
        "AcCusRefundNoteMID": "RN-00001", "ItemNo": "1", "AcBillPaymentMethodID": "CASH",
        "ItemReferenceNumber": "CR-0001", "ItemRemark1": "Refunded at counter", "ItemCurrencyPaymentAmount": "20.40"}]
    meta = answer(response)["ResponseStatus"]["Meta"]
    assert meta["CreditNoteNumber"] == "CN-2026-000001"
    [refund] = refunds_of(client, demo)
    assert refund["id"] == meta["RefundId"] and refund["reference"] == "RN-00001" and refund["channel"] == "snr2u"


def test_the_answer_has_every_name_the_documents_response_prints_in_its_order(post):
    """The document's response sample (placeholders for values): the same names in the same order,
    its ``ResponseStatus`` included; on success that one carries no error and, in ``Meta``, our
    refund's ids (issue 10)."""
    printed = jsv.decode(RESPONSE_JSV)
    for n, fmt in enumerate(("jsv", "json")):
        response = post(renumber(FILLED, f"RN-S{n}"), fmt=fmt)
        assert response.status_code == 200, response.text
        got = answer(response)
        assert list(got) == list(printed) == ["CustomerRefundNote", "ResponseStatus"]
        for part in ("DocumentHeader", "DocumentDetails", "DocumentPaymentDetails"):
            mine, theirs = got["CustomerRefundNote"][part], printed["CustomerRefundNote"][part]
            mine, theirs = (mine, theirs) if part == "DocumentHeader" else (mine[0], theirs[0])
            assert list(mine) == list(theirs), part
        assert list(got["ResponseStatus"]) == list(printed["ResponseStatus"]) == [
            "ErrorCode", "Message", "StackTrace", "Errors", "Meta"]
        no_error = {name: got["ResponseStatus"][name] for name in ("ErrorCode", "Message", "StackTrace", "Errors")}
        assert no_error == {"ErrorCode": None, "Message": None, "StackTrace": None, "Errors": []}
        assert list(got["ResponseStatus"]["Meta"]) == ["RefundId", "CreditNoteNumber"]
    assert '"responseStatus":{"errorCode":null,"message":null,"stackTrace":null,"errors":[],"meta":{"RefundId":' \
        in response.text


def test_json_names_are_servicestacks_camel_case_and_jsconfig_asks_for_another(post):
    """ServiceStack on .NET Core writes JSON in camelCase, which its clients read; ``?jsconfig``
    (its per-request JsConfig, names and Camel Humps aliases case-insensitive) picks another
    casing. JSV keeps the document's PascalCase. ``Meta`` keys are data and keep theirs."""
    bad = change(renumber(FILLED, "RN-BAD"), "DocumentHeader.DocumentNetAmount", "20.39")  # refused (and replayed)
    message = "the net amount is 20.38, not 20.39"
    assert post(bad, fmt="json").json() == {"responseStatus": {
        "errorCode": "total_mismatch", "message": message, "stackTrace": None,
        "errors": [{"errorCode": "total_mismatch", "fieldName": "DocumentHeader.DocumentNetAmount", "message": message,
                    "meta": {"computed": "20.38", "given": "20.39"}}], "meta": {}}}
    for jsconfig in ("TextCase:PascalCase", "tc:pc", "EmitPascalCaseNames", "EPCN", "emitcamelcasenames:false",
                     "eccn:0", "ExcludeDefaultValues,TextCase:PascalCase"):
        pascal = post(bad, fmt="json", params={"jsconfig": jsconfig}).json()
        assert list(pascal["ResponseStatus"]["Errors"][0]) == ["ErrorCode", "FieldName", "Message", "Meta"], jsconfig
    for jsconfig in ("TextCase:CamelCase", "tc:cc", "EmitCamelCaseNames", "EmitPascalCaseNames:false",
                     "ExcludeDefaultValues", "TextCase:Default", "nonsense"):
        assert list(post(bad, fmt="json", params={"jsconfig": jsconfig}).json()) == ["responseStatus"], jsconfig
    snake = post(bad, fmt="json", params={"JsConfig": "EmitLowercaseUnderscoreNames"}).json()["response_status"]
    assert list(snake["errors"][0]) == ["error_code", "field_name", "message", "meta"]
    assert list(jsv.decode(post(bad).content)) == ["ResponseStatus"]  # JSV: PascalCase
    assert list(jsv.decode(post(bad, params={"jsconfig": "tc:cc"}).content)) == ["responseStatus"]
    made = post(fmt="json")
    assert made.status_code == 200, made.text
    header = made.json()["customerRefundNote"]["documentHeader"]
    assert (header["acCusRefundNoteMID"], header["eInvoiceRegName_Buyer"], header["isEnableEInvoiceMYS"]) == (
        "RN-00001", "Kedai Runcit Maju Sdn. Bhd.", "N")
    again = post(fmt="json", params={"jsconfig": "TextCase:PascalCase"})  # a replay, in the casing asked for
    assert again.headers["idempotent-replayed"] == "true"
    assert '"DocumentFinalAmount":20.40' in again.text and from_camel(made.json()) == again.json()


@pytest.mark.parametrize("name, camel, snake", [
    ("CustomerRefundNote", "customerRefundNote", "customer_refund_note"),
    ("AcCusRefundNoteMID", "acCusRefundNoteMID", "ac_cus_refund_note_m_i_d"),
    ("EInvoiceRegName_Buyer", "eInvoiceRegName_Buyer", "e_invoice_reg_name__buyer"),
    ("IsEnableEInvoiceMYS", "isEnableEInvoiceMYS", "is_enable_e_invoice_m_y_s"),
    ("ID", "id", "id"), ("ItemRemark1", "itemRemark1", "item_remark1"), ("already", "already", "already"),
])
def test_names_in_each_casing(name, camel, snake):
    assert servicestack.camel_name(name) == camel
    assert servicestack.recased({name: {"Meta": {"KeepMe": 1}}}, "snake") == {snake: {"meta": {"KeepMe": 1}}}


def test_the_filled_template_in_json_succeeds_with_exact_numbers(post):
    response = post(FILLED_JSON, fmt="json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    text = response.text
    for exact in ('"documentNetAmount":20.38', '"documentCentBalance":0.02', '"documentFinalAmount":20.40',
                  '"itemUnitPrice":12.5000', '"itemQuantity":1.0000', '"itemDiscountAmount":0.00', '"itemNo":1',
                  '"isUseTransactionBuyerElement":false', '"itemCurrencyPaymentAmount":20.40',
                  '"acEInvoiceDocumentStatusID":null'):
        assert exact in text
    assert answer(response)["CustomerRefundNote"]["DocumentHeader"]["AcCustomerName"] == seed.CUSTOMER_NAME


def test_the_documented_curl_with_only_the_required_fields(post):
    response = post(CURL_JSV.replace("$TODAY", "2026-06-15"), Accept=JSV)
    assert response.status_code == 200, response.text
    header = answer(response)["CustomerRefundNote"]["DocumentHeader"]
    assert (header["DocumentFinalAmount"], header["AcTermID"], header["EditDate"]) == ("20.40", None, "2026-06-15T00:00:00")


def test_the_template_as_printed_gets_servicestack_field_errors(post, client, demo):
    response = post(TEMPLATE_JSV, Accept=JSV)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(JSV)
    body = answer(response)
    assert set(body) == {"ResponseStatus"}
    rs = body["ResponseStatus"]
    assert set(rs) == {"ErrorCode", "Message", "StackTrace", "Errors", "Meta"}
    assert rs["ErrorCode"] == "validation_error" and rs["StackTrace"] is None
    assert rs["Message"] == "DocumentHeader.DocumentDate is required"  # 0001-01-01 is .NET's "no date"
    assert [e["FieldName"] for e in rs["Errors"]] == [
        "DocumentHeader.DocumentDate", "DocumentHeader.EditDate", "DocumentHeader.AcEInvoiceDocumentFlowID",
        "DocumentHeader.EInvoiceBuyerIsMalaysian", "DocumentHeader.EInvoiceBuyerRegType",
        "DocumentHeader.AcEInvoiceAddressStateID_Buyer", "DocumentHeader.AcEInvoiceAddressCountryID_Buyer",
        "DocumentDetails[0].ItemNo", "DocumentPaymentDetails[0].ItemNo"]
    assert all(set(e) == {"ErrorCode", "FieldName", "Message", "Meta"} for e in rs["Errors"])
    assert rs["Errors"][3]["Meta"] == {"choices": "Y, N"}
    assert refunds_of(client, demo) == []


def test_the_template_with_its_placeholders_made_valid_reaches_the_engine(post):
    body = jsv.decode(TEMPLATE_JSV)
    header = body["CustomerRefundNote"]["DocumentHeader"]
    header.update(DocumentDate="2026-06-15", EditDate="2026-06-15", EInvoiceBuyerIsMalaysian="Y",
                  AcEInvoiceDocumentFlowID="Open", EInvoiceBuyerRegType="BRN", AcEInvoiceAddressStateID_Buyer="14",
                  AcEInvoiceAddressCountryID_Buyer="MYS")
    body["CustomerRefundNote"]["DocumentDetails"][0]["ItemNo"] = "1"
    body["CustomerRefundNote"]["DocumentPaymentDetails"][0]["ItemNo"] = "1"
    response = post(body)
    assert response.status_code == 404  # the engine's first error: no invoice "String"
    assert errors(response) == [("DocumentHeader.AcCusInvoiceMID", "invoice_not_found")]
    assert status(response)["Message"] == "invoice String does not exist"


# -- required fields, types, shapes ----------------------------------------------------------------------

REQUIRED = [f"DocumentHeader.{name}" for name, kind, required, _ in snr2u.HEADER if required] + [
    f"DocumentDetails[1].{name}" for name, kind, required, _ in snr2u.DETAIL if required] + [
    f"DocumentPaymentDetails[0].{name}" for name, kind, required, _ in snr2u.PAYMENT if required] + [
    "DocumentHeader", "DocumentDetails", "DocumentPaymentDetails"]


@pytest.mark.parametrize("where", REQUIRED)
def test_every_required_field_missing_in_turn(post, client, demo, where):
    for body in (change(FILLED, where, delete=True), change(FILLED, where, None)):
        response = post(body)
        assert response.status_code == 400, response.text
        assert errors(response)[0] == (where, "validation_error")
        assert status(response)["Message"] == f"{where} is required"
    assert refunds_of(client, demo) == []


def test_the_envelope_is_required(post):
    response = post({"Something": {}})
    assert response.status_code == 400
    assert errors(response) == [("Something", "validation_error"), ("CustomerRefundNote", "validation_error")]
    assert errors(post("[1,2]"))[0] == ("", "validation_error")


@pytest.mark.parametrize("where, value, message", [
    ("DocumentDetails[0].AcStockID", 123, "DocumentDetails[0].AcStockID must be a string"),
    ("DocumentDetails[0].ItemQuantity", True, 'DocumentDetails[0].ItemQuantity must be a decimal number written as a string, e.g. "12.50"'),
    ("DocumentDetails[0].ItemQuantity", "one", 'DocumentDetails[0].ItemQuantity must be a decimal number such as "12.50"'),
    ("DocumentDetails[0].ItemQuantity", "NaN", 'DocumentDetails[0].ItemQuantity must be a decimal number such as "12.50"'),
    ("DocumentDetails[0].ItemUnitPrice", "12.50001", "DocumentDetails[0].ItemUnitPrice allows at most 4 decimals for this price"),
    ("DocumentDetails[0].ItemGrossTotal", "12.505", "DocumentDetails[0].ItemGrossTotal allows at most 2 decimals for this currency (MYR)"),
    ("DocumentDetails[0].ItemNo", "1.5", "DocumentDetails[0].ItemNo must be a whole number"),
    ("DocumentDetails[0].ItemNo", 0, "DocumentDetails[0].ItemNo must be a whole number from 1 to 2147483647"),
    ("DocumentHeader.DocumentDate", "15/06/2026", "DocumentHeader.DocumentDate must be a date such as 2026-06-15"),
    ("DocumentHeader.EditDate", "yesterday", "DocumentHeader.EditDate must be a date and time such as 2026-06-15T10:30:00"),
    ("DocumentHeader.IsUseTransactionBuyerElement", "yes", "DocumentHeader.IsUseTransactionBuyerElement must be True or False"),
    ("DocumentHeader.EInvoiceBuyerIsMalaysian", "Yes", "DocumentHeader.EInvoiceBuyerIsMalaysian must be one of Y, N"),
    ("DocumentHeader.AcCusRefundNoteMID", "RN-" + "9" * 18, "DocumentHeader.AcCusRefundNoteMID must be at most 20 characters long"),
    ("DocumentHeader.DocumentReason", "   ", "DocumentHeader.DocumentReason is required"),
    ("DocumentHeader.IsUseAcStockCompanyIDForStockValidation", True,
     "DocumentHeader.IsUseAcStockCompanyIDForStockValidation: lookup by AcStockCompanyID is not supported; send False and the AcStockID"),
    ("DocumentDetails", {"AcStockID": "ITEM-001"}, "DocumentDetails must be a list"),
    ("DocumentHeader", ["x"], "DocumentHeader must be an object"),
    ("DocumentDetails[0].Colour", "red", "DocumentDetails[0].Colour is not a field of this request"),
])
def test_wrong_types_and_values_in_json(post, where, value, message):
    response = post(json_text(change(as_json(FILLED), where, value)), fmt="json")
    assert response.status_code == 400, response.text
    assert (status(response)["Errors"][0]["FieldName"], status(response)["Message"]) == (where, message)


def test_a_json_float_is_read_exactly_and_a_numeric_string_too(post):
    body = as_json(FILLED)
    text = json_text(body).replace('"ItemQuantity": 1.0000', '"ItemQuantity": "1"')
    assert post(text, fmt="json").status_code == 200


def test_field_names_are_not_case_sensitive_but_must_not_repeat(post):
    text = FILLED_JSV.replace("CustomerRefundNote:", "customerRefundNote:").replace("AcStockID:", "acstockid:")
    assert post(text).status_code == 200
    twice = FILLED_JSV.replace("AcTermID: C.O.D.,", "AcTermID: C.O.D.,\nACTERMID: X,")
    assert errors(post(twice)) == [("DocumentHeader.ACTERMID", "validation_error")]


def test_details_must_name_the_headers_refund_note_and_unique_items(post, client, demo):
    body = change(change(FILLED, "DocumentDetails[1].AcCusRefundNoteMID", "RN-00002"),
                  "DocumentPaymentDetails[0].AcCusRefundNoteMID", "RN-00003")
    body = change(body, "DocumentDetails[1].ItemNo", "1")
    response = post(body)
    assert response.status_code == 400
    assert errors(response) == [("DocumentDetails[1].AcCusRefundNoteMID", "validation_error"),
                                ("DocumentDetails[1].ItemNo", "validation_error"),
                                ("DocumentPaymentDetails[0].AcCusRefundNoteMID", "validation_error")]
    assert status(response)["Message"] == (
        "DocumentDetails[1].AcCusRefundNoteMID must be RN-00001, the refund note number of the header")
    assert refunds_of(client, demo) == []


# -- the client's arithmetic, checked by the engine ------------------------------------------------------

@pytest.mark.parametrize("changes, field, code, message", [
    ({"DocumentDetails[0].ItemGrossTotal": "12.51"}, "DocumentDetails[0].ItemGrossTotal", "total_mismatch",
     "unit price x quantity is 12.50, not 12.51"),
    ({"DocumentDetails[1].ItemGrossTotal": "7.95", "DocumentDetails[1].ItemUnitPrice": "7.95"},
     "DocumentDetails[1].ItemUnitPrice", "price_exceeds_original", "unit price 7.95 exceeds the original 7.9"),
    ({"DocumentDetails[1].ItemGrossTotal": "7.91"}, "DocumentDetails[1].ItemGrossTotal", "total_mismatch",
     "unit price x quantity is 7.90, not 7.91"),
    ({"DocumentDetails[0].ItemTotalPrice": "12.40", "DocumentDetails[0].ItemDiscountAmount": "0.05",
      "DocumentPaymentDetails[0].ItemCurrencyPaymentAmount": "20.30"},  # a discounted line refunds its total
     "DocumentDetails[0].ItemTotalPrice", "total_mismatch", "the line total (gross - discount) is 12.45, not 12.40"),
    ({"DocumentHeader.DocumentNetAmount": "20.39"}, "DocumentHeader.DocumentNetAmount", "total_mismatch",
     "the net amount is 20.38, not 20.39"),
    ({"DocumentHeader.DocumentCentBalance": "0.03"}, "DocumentHeader.DocumentCentBalance", "total_mismatch",
     "the cash rounding is 0.02, not 0.03"),
    # a client that does not round cash to 5 sen: its own sums agree, its cent balance is what is off (issue 10)
    ({"DocumentHeader.DocumentCentBalance": "0.00", "DocumentHeader.DocumentFinalAmount": "20.38",
      "DocumentPaymentDetails[0].ItemCurrencyPaymentAmount": "20.38"}, "DocumentHeader.DocumentCentBalance",
     "total_mismatch", "the cash rounding is 0.02, not 0.00"),
    ({"DocumentHeader.DocumentCentBalance": "0.07", "DocumentHeader.DocumentFinalAmount": "20.45",
      "DocumentPaymentDetails[0].ItemCurrencyPaymentAmount": "20.45"}, "DocumentHeader.DocumentCentBalance",
     "total_mismatch", "the cash rounding is 0.02, not 0.07"),
    # the right cent balance, a final amount (and payment) without it: the final amount is named
    ({"DocumentHeader.DocumentFinalAmount": "20.38", "DocumentPaymentDetails[0].ItemCurrencyPaymentAmount": "20.38"},
     "DocumentHeader.DocumentFinalAmount", "total_mismatch", "the final amount is 20.40, not 20.38"),
    ({"DocumentHeader.DocumentFinalAmount": "20.45"}, "DocumentHeader.DocumentFinalAmount", "total_mismatch",
     "the final amount is 20.40, not 20.45"),
    ({"DocumentPaymentDetails[0].ItemCurrencyPaymentAmount": "20.38"}, "DocumentPaymentDetails",
     "payments_do_not_match_total", "the payments sum to 20.38 but the refund total is 20.40"),
    ({"DocumentDetails[0].ItemQuantity": "5"}, "DocumentDetails[0].ItemQuantity", "quantity_exceeds_refundable",
     "quantity 5 exceeds the 4 still refundable on line 1"),
    ({"DocumentDetails[0].ItemQuantity": "0"}, "DocumentDetails[0].ItemQuantity", "validation_error",
     "quantity must be greater than zero"),
    ({"DocumentDetails[0].AcStockUOMID": "BOX"}, "DocumentDetails[0].AcStockUOMID", "unit_mismatch",
     "product ITEM-001 is counted in UNIT, not BOX"),
    ({"DocumentDetails[0].AcStockID": "ITEM-999"}, "DocumentDetails[0].AcStockID", "line_not_found",
     "invoice IV-00001 has no line for product ITEM-999"),
    ({"DocumentHeader.AcCustomerID": "300-C002"}, "DocumentHeader.AcCustomerID", "customer_mismatch",
     "the invoice IV-00001 belongs to another customer"),
    ({"DocumentHeader.AcLocationID": "BRANCH-9"}, "DocumentHeader.AcLocationID", "location_not_found",
     "location BRANCH-9 does not exist"),
    ({"DocumentHeader.DocumentDate": "2026-06-16"}, "DocumentHeader.DocumentDate", "posting_date_in_future",
     "the posting date 2026-06-16 is after today (2026-06-15)"),
    ({"DocumentHeader.DocumentDate": "2026-06-01"}, "DocumentHeader.DocumentDate", "posting_date_before_invoice",
     "the posting date 2026-06-01 is before the invoice date 2026-06-08"),
    ({"DocumentPaymentDetails[0].AcBillPaymentMethodID": "CHEQUE"},
     "DocumentPaymentDetails[0].AcBillPaymentMethodID", "unknown_payment_method",
     "payment method CHEQUE does not exist or is not active"),
])
def test_rule_errors_name_the_documents_field(post, client, demo, changes, field, code, message):
    body = FILLED
    for where, value in changes.items():
        body = change(body, where, value)
    response = post(body)
    assert response.status_code == snr2u.status_of(code)
    assert status(response)["Errors"][0]["FieldName"] == field
    assert (status(response)["ErrorCode"], status(response)["Message"]) == (code, message)
    assert refunds_of(client, demo) == []


def test_card_refunds_are_not_cash_rounded(post, demo, engine):
    set_tenant_settings(engine, demo["name"], refund_to_other_methods=True)  # the invoice was paid in cash
    body = change(FILLED, "DocumentHeader.DocumentCentBalance", "0.00")
    body = change(body, "DocumentHeader.DocumentFinalAmount", "20.38")
    body = change(body, "DocumentPaymentDetails[0].AcBillPaymentMethodID", "CARD")
    body = change(body, "DocumentPaymentDetails[0].ItemCurrencyPaymentAmount", "20.38")
    response = post(body)
    assert response.status_code == 200, response.text
    header = answer(response)["CustomerRefundNote"]["DocumentHeader"]
    assert (header["DocumentCentBalance"], header["DocumentFinalAmount"]) == ("0.00", "20.38")


def test_the_whole_invoice_and_then_nothing_more(post):
    body = FILLED
    for where, value in {"DocumentDetails[0].ItemQuantity": "4", "DocumentDetails[0].ItemGrossTotal": "50.00",
                         "DocumentDetails[0].ItemTotalPrice": "50.00", "DocumentDetails[1].ItemQuantity": "2",
                         "DocumentDetails[1].ItemGrossTotal": "15.80", "DocumentDetails[1].ItemDiscountAmount": "0.00",
                         "DocumentDetails[1].ItemTotalPrice": "15.80", "DocumentHeader.DocumentNetAmount": "65.80",
                         "DocumentHeader.DocumentCentBalance": "0.00", "DocumentHeader.DocumentFinalAmount": "65.80",
                         "DocumentPaymentDetails[0].ItemCurrencyPaymentAmount": "65.80"}.items():
        body = change(body, where, value)
    assert post(body).status_code == 200
    again = change(FILLED, "DocumentHeader.AcCusRefundNoteMID", "RN-00002")
    for i in (0, 1):
        again = change(again, f"DocumentDetails[{i}].AcCusRefundNoteMID", "RN-00002")
    again = change(again, "DocumentPaymentDetails[0].AcCusRefundNoteMID", "RN-00002")
    response = post(again)
    assert response.status_code == 400
    assert errors(response)[:2] == [("DocumentDetails[0].ItemQuantity", "quantity_exceeds_refundable"),
                                    ("DocumentDetails[1].ItemQuantity", "quantity_exceeds_refundable")]


# -- credentials and tenancy -----------------------------------------------------------------------------

def test_bad_credentials_get_servicestack_401_and_403(post, engine, clock, demo, make_token):
    for response in (post("garbage {", key=False), post("garbage {", key="not-a-key"),
                     post("garbage {", key=False, Authorization="Basic YTpi")):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert errors(response) == [("Authorization", "unauthorized")]  # before the body is looked at
    reader = make_token({"tenant": demo["name"]}, "refund:read")
    response = post(key=reader, Accept_Language="ms")
    assert response.status_code == 403
    assert status(response)["ErrorCode"] == "forbidden"
    assert status(response)["Message"] == "kelayakan ini tidak mempunyai kebenaran CustomerRefundNote-Transaction.ADD"
    principal = authenticate(engine, demo["key"], clock)
    assert revoke_token(engine, principal.credential_id, clock)
    response = post(Accept=JSV)
    assert response.status_code == 401 and response.headers["content-type"].startswith(JSV)
    assert status(response)["Message"] == "a valid bearer token is required"


def test_another_tenants_invoice_and_location_are_not_found(post, make_tenant, api_for):
    other = make_tenant(currency="MYR")
    api = api_for(other["token"])
    assert api.post("/v1/customers", {"code": "300-C001", "name": "Other"}).status_code == 201
    assert api.post("/v1/locations", {"code": "BRANCH-2", "name": "Other branch"}).status_code == 201
    assert api.post("/v1/products", {"code": "ITEM-001", "name": "x", "unit": "UNIT"}).status_code == 201
    assert api.post("/v1/invoices", {"number": "IV-OTHER", "customer": "300-C001", "date": "2026-06-10", "lines": [
        {"product": "ITEM-001", "quantity": "4", "unit_price": "12.50", "tax_rate": "0"}]}).status_code == 201
    response = post(change(renumber(FILLED, "RN-A"), "DocumentHeader.AcCusInvoiceMID", "IV-OTHER"))
    assert response.status_code == 404
    assert errors(response) == [("DocumentHeader.AcCusInvoiceMID", "invoice_not_found")]
    response = post(change(renumber(FILLED, "RN-B"), "DocumentHeader.AcLocationID", "BRANCH-2"))
    assert response.status_code == 404
    assert errors(response) == [("DocumentHeader.AcLocationID", "location_not_found")]
    response = post(key=other["token"])  # the other tenant's own key: it has no IV-00001
    assert errors(response) == [("DocumentHeader.AcCusInvoiceMID", "invoice_not_found")]


# -- exactly once: AcCusRefundNoteMID --------------------------------------------------------------------

def test_a_replay_answers_the_same_note_and_a_different_note_with_the_number_is_refused(post, client, demo):
    first = post(fmt="json")
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    again = post(fmt="json")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    in_jsv = post(Accept=JSV)  # the same note sent as JSV: the same answer, in JSV
    assert in_jsv.headers["idempotent-replayed"] == "true"
    assert answer(in_jsv) == jsv.decode(jsv.encode(answer(first)))
    other = post(change(FILLED, "DocumentHeader.DocumentReason", "Wrong colour"), Accept_Language="ms")
    assert other.status_code == 409
    assert errors(other) == [("DocumentHeader.AcCusRefundNoteMID", "idempotency_key_reused")]
    assert status(other)["Message"] == "kunci ini telah digunakan untuk permintaan yang berlainan"
    assert len(refunds_of(client, demo)) == 1


def test_rejections_by_rule_are_replayed_but_malformed_requests_are_not_stored(post, client, demo):
    missing = post(change(FILLED, "DocumentHeader.EditDate", delete=True))
    assert missing.status_code == 400
    assert post().status_code == 200  # the corrected note with the same number goes through
    too_many = change(change(FILLED, "DocumentHeader.AcCusRefundNoteMID", "RN-9"), "DocumentDetails[0].ItemQuantity", "9")
    for path in ("DocumentDetails[0]", "DocumentDetails[1]", "DocumentPaymentDetails[0]"):
        too_many = change(too_many, f"{path}.AcCusRefundNoteMID", "RN-9")
    refused = post(too_many)
    assert refused.status_code == 400 and errors(refused)[0][1] == "quantity_exceeds_refundable"
    replayed = post(too_many)
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.content == refused.content
    assert len(refunds_of(client, demo)) == 1


# -- the same command as the native API, and the same refund through it ----------------------------------

def test_the_door_builds_the_same_issue_refund_as_the_native_api(post, client, demo, issued):
    assert post().status_code == 200
    response = client.post("/v1/refunds", headers={"Authorization": f"Bearer {demo['token']}"}, json={
        "invoice": "IV-00001", "customer": "300-C001", "reason": "Damaged in transit",
        "posting_date": "2026-06-15", "document_date": "2026-06-15", "location": "HQ",
        "lines": [{"product": "ITEM-001", "quantity": "1", "unit_price": "12.50", "location": "HQ"},
                  {"product": "ITEM-002", "quantity": "1", "amount": "7.88", "location": "HQ"}],
        "payments": [{"method": "CASH", "amount": "20.40", "reference": "CR-0001"}]})
    assert response.status_code == 201, response.text
    door, native_command = issued
    assert door.reference == "RN-00001" and door.expected is not None
    assert [line.unit for line in door.lines] == ["UNIT", "UNIT"]
    # what only this door says: its document number, its own totals to verify, its unit of measure
    bare = dataclasses.replace(door, reference=None, expected=None,
                               lines=tuple(dataclasses.replace(line, unit=None) for line in door.lines))
    assert bare == native_command
    assert response.json()["total"] == "20.40" and response.json()["rounding"] == "0.02"


def test_the_refund_shows_up_identical_through_the_native_api(post, client, demo):
    response = post(fmt="json")
    assert response.status_code == 200
    sent = answer(response)
    [listed] = refunds_of(client, demo)
    refund = native(client, demo, f"/v1/refunds/{listed['id']}")
    assert refund == listed
    assert (refund["number"], refund["state"], refund["channel"], refund["reference"]) == (
        "CN-2026-000001", "posted", "snr2u", "RN-00001")
    assert (refund["gross"], refund["rounding"], refund["total"], refund["posting_date"]) == (
        "20.38", "0.02", "20.40", "2026-06-15")
    assert [(line["product"], line["quantity"], line["gross"], line["location"]) for line in refund["lines"]] == [
        ("ITEM-001", "1", "12.50", "HQ"), ("ITEM-002", "1", "7.88", "HQ")]
    # the door's answer is exactly the native refund rendered in the document's shape
    rendered = snr2u.render_note({**refund, "customer_name": seed.CUSTOMER_NAME})
    assert loads_exact(snr2u.dumps(rendered)) == sent
    [entry] = native(client, demo, f"/v1/refunds/{refund['id']}/journal")["items"]
    assert sorted((line["account"], line["debit"], line["credit"]) for line in entry["lines"]) == [
        ("1000", "0.00", "20.40"),  # cash paid back, rounded to 5 sen
        ("1200", "12.20", "0.00"),  # goods back in stock at cost: 8.00 + 4.20
        ("4100", "20.38", "0.00"),  # sales returns
        ("5000", "0.00", "12.20"),
        ("6900", "0.02", "0.00"),  # the cent balance, on the cash rounding account (R5)
    ]
    stock = {(s["product"], s["location"]): s["on_hand"] for s in native(client, demo, "/v1/stock")["items"]}
    assert stock[("ITEM-001", "HQ")] == "17" and stock[("ITEM-002", "HQ")] == "29"  # 20-4+1, 30-2+1


# -- formats ---------------------------------------------------------------------------------------------

def test_content_negotiation(post, client, demo):
    mids = iter(f"RN-1{n}" for n in range(10))

    def fresh():  # a new refund note whose net amount is off, so nothing is recorded
        return change(renumber(FILLED, next(mids)), "DocumentHeader.DocumentNetAmount", "20.39")

    def check(response, media):
        assert response.status_code == 400, response.text  # the arithmetic of fresh() is off on purpose
        assert response.headers["content-type"].startswith(media)
        assert errors(response)[0][1] == "total_mismatch"

    key = {"Authorization": f"Bearer {demo['key']}"}
    check(client.post(PATH, params={"format": "jsv"}, content=jsv.encode(fresh()), headers=key), JSV)
    check(client.post(PATH + ".jsv", content=jsv.encode(fresh()), headers=key), JSV)
    check(post(fresh(), Accept="application/json"), "application/json")
    check(post(fresh(), fmt="json", Accept="text/jsv"), JSV)
    check(post(fresh(), fmt="json", Accept="text/jsv;q=0.5, application/json"), "application/json")
    check(post(fresh(), fmt="json", params={"format": "jsv"}), JSV)
    check(client.post(PATH + ".json", content=json_text(as_json(fresh())), headers=key), "application/json")
    check(post(fresh(), Accept="*/*"), JSV)
    response = post("<xml/>", fmt="json", Content_Type="application/xml")
    assert response.status_code == 415 and errors(response) == [("Content-Type", "unsupported_media_type")]
    response = post(params={"format": "xml"})
    assert response.status_code == 400 and errors(response) == [("format", "validation_error")]


@pytest.mark.parametrize("fmt, body, detail", [
    ("jsv", "{CustomerRefundNote:{DocumentHeader:{AcCusRefundNoteMID:RN-1,}", "not valid JSV (expected a key, found '}' at line 1, column 62)"),
    ("jsv", b"{A:\xff}", "not valid JSV (the document is not valid UTF-8"),
    ("json", '{"CustomerRefundNote": ', "not valid JSON"),
    ("json", "[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ("jsv", "[" * 100, "nested deeper than 32 levels"),
    ("json", "", "not valid JSON"),
])
def test_malformed_bodies_get_a_clear_400(post, fmt, body, detail):
    response = post(body, fmt=fmt)
    assert response.status_code == 400
    assert errors(response) == [("", "validation_error")]
    assert detail in status(response)["Message"]


def test_a_body_over_one_megabyte_is_refused(post):
    response = post("{" + " " * 1_000_001 + "}")
    assert response.status_code == 400 and status(response)["Message"] == "the request body is too large"


# -- languages -------------------------------------------------------------------------------------------

def test_messages_in_malay_when_asked(post):
    body = change(FILLED, "DocumentDetails[0].ItemQuantity", "5")
    response = post(body, Accept_Language="ms-MY, en;q=0.5")
    assert status(response)["Message"] == "kuantiti 5 melebihi baki 4 yang masih boleh dibayar balik pada baris 1"
    response = post(change(renumber(FILLED, "RN-2"), "DocumentHeader.DocumentNetAmount", "20.39"), Accept_Language="ms")
    assert status(response)["Message"] == "amaun bersih ialah 20.38, bukan 20.39"
    assert status(response)["Errors"][0]["Meta"] == {"computed": "20.38", "given": "20.39"}
    response = post(change(FILLED, "DocumentHeader.EditDate", delete=True), Accept_Language="ms")
    assert status(response)["Message"] == "DocumentHeader.EditDate diperlukan"
    response = post(change(FILLED, "DocumentHeader.EditDate", delete=True), Accept_Language="ar, fr")
    assert status(response)["Message"] == "DocumentHeader.EditDate is required"


def test_every_message_template_in_src_has_a_malay_translation():
    catalog = i18n.catalog("ms")
    templates = all_templates()
    missing = sorted(t for t in templates if t not in catalog)
    assert not missing, "ms.po lacks: " + "; ".join(missing)
    for template in templates:
        translated = catalog[template]
        assert _fields(translated) == _fields(template), template
        values = {name: "X" for name in _fields(template)}
        assert translated.format(**values)  # the translation is a valid template


def test_the_malay_catalog_header():
    text = (i18n.CATALOGS / "ms.po").read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in text and '"Language: ms\\n"' in text


def _fields(template: str) -> set[str]:
    import string
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# -- the demo tenant ---------------------------------------------------------------------------------------

def test_the_seed_loads_once_and_its_api_key_refunds_the_documents_example(engine, clock, client):
    created = seed.load(engine, clock)
    assert seed.load(engine, clock) is False
    principal = authenticate(engine, seed.API_KEY, clock)
    assert principal is not None and principal.tenant_id == tenant_id_by_name(engine, seed.TENANT)
    assert principal.may("refund:create") and principal.may("refund:read") and not principal.may("refund:void")
    if created:  # the documented curl, against the demo tenant as loaded
        response = client.post(PATH, content=FILLED_JSV, headers={
            "Authorization": f"Bearer {seed.API_KEY}", "Content-Type": JSV, "Accept": JSV})
        assert response.status_code == 200, response.text
