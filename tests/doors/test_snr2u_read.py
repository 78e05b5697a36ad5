"""SnR2U: reading one refund note (GET /CustomerRefundNotes/{AcCusRefundNoteMID}) and listing them
AutoQuery style (GET /CustomerRefundNotes?Skip=&Take=&AcCusInvoiceMID=&DocumentDateFrom=...), issue 13.
Each note is the create answer's ``CustomerRefundNote``, in JSON or JSV; errors are ``ResponseStatus``."""

from __future__ import annotations

import pytest

from salesrefund.seeds import snr2u as seed
from snr2u_helpers import FILLED, FILLED_JSV
from test_snr2u import JSV, answer, change, demo, errors, post, renumber, status  # noqa: F401 (fixtures)

LIST = "/CustomerRefundNotes"


@pytest.fixture
def get(client, demo):  # noqa: F811
    def send(path, key=None, params=None, **headers):
        sent = {"Authorization": f"Bearer {key or demo['key']}"} if key is not False else {}
        sent.update({k.replace("_", "-"): v for k, v in headers.items()})
        return client.get(path, headers=sent, params=params)
    return send


def small(mid: str, day: str = "2026-06-15") -> dict:
    """The filled example as another refund note of one ITEM-001 (12.50, cash 12.50), dated ``day``."""
    body = renumber(FILLED, mid)
    note = body["CustomerRefundNote"]
    note["DocumentDetails"] = [dict(note["DocumentDetails"][0], AcCusRefundNoteDID=f"{mid}-1")]
    note["DocumentPaymentDetails"] = [dict(note["DocumentPaymentDetails"][0], ItemCurrencyPaymentAmount="12.50")]
    header = note["DocumentHeader"]
    header.update(DocumentNetAmount="12.50", DocumentCentBalance="0.00", DocumentFinalAmount="12.50",
                  DocumentDate=day)
    return body


def test_reading_the_documents_example_back_gives_the_create_answer(post, get):  # noqa: F811
    made = post(FILLED_JSV, Accept=JSV)
    assert made.status_code == 200, made.text
    created = answer(made)
    read = get(f"{LIST}/RN-00001", Accept=JSV)
    assert read.status_code == 200, read.text
    assert read.headers["content-type"].startswith(JSV)
    body = answer(read)
    assert body["CustomerRefundNote"] == created["CustomerRefundNote"]
    assert body["ResponseStatus"]["Meta"] == {**created["ResponseStatus"]["Meta"], "State": "posted"}
    as_json = get(f"{LIST}/RN-00001", params={"format": "json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert '"documentFinalAmount":20.40' in as_json.text  # exact numbers, as the create answer writes them
    assert answer(as_json)["CustomerRefundNote"]["DocumentHeader"]["AcCustomerName"] == seed.CUSTOMER_NAME


def test_a_voided_note_reads_as_voided(post, get, client, demo):  # noqa: F811
    assert post(small("RN-V")).status_code == 200
    [refund] = client.get("/v1/refunds", params={"invoice": seed.INVOICE},
                          headers={"Authorization": f"Bearer {demo['token']}"}).json()["items"]
    assert client.post(f"/v1/refunds/{refund['id']}/void",
                       headers={"Authorization": f"Bearer {demo['token']}"}).status_code == 200
    assert answer(get(f"{LIST}/RN-V", params={"format": "json"}))["ResponseStatus"]["Meta"]["State"] == "voided"


def test_an_unknown_number_is_a_servicestack_404_in_english_or_malay(get):
    response = get(f"{LIST}/RN-NOPE")
    assert response.status_code == 404
    assert errors(response) == [("AcCusRefundNoteMID", "not_found")]
    assert status(response)["Message"] == "there is no refund note RN-NOPE"
    malay = get(f"{LIST}/RN-NOPE", Accept_Language="ms")
    assert status(malay)["Message"] == "tiada nota bayaran balik RN-NOPE"
    too_long = get(f"{LIST}/{'X' * 21}")
    assert too_long.status_code == 400 and errors(too_long) == [("AcCusRefundNoteMID", "validation_error")]


def test_list_pages_with_skip_and_take_and_filters(post, get):  # noqa: F811
    for mid, day in (("RN-1", "2026-06-13"), ("RN-2", "2026-06-14"), ("RN-3", "2026-06-15")):
        assert post(small(mid, day)).status_code == 200, mid
    everything = answer(get(LIST, params={"format": "json"}))
    assert everything["Offset"] == 0 and everything["Total"] == 3
    assert [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in everything["Results"]] == ["RN-1", "RN-2", "RN-3"]
    read_one = answer(get(f"{LIST}/RN-2", params={"format": "json"}))["CustomerRefundNote"]
    assert everything["Results"][1] == read_one  # each result is the create answer's CustomerRefundNote
    page = answer(get(LIST, params={"Skip": "1", "Take": "1", "format": "json"}))
    assert (page["Offset"], page["Total"], [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in page["Results"]]) == (
        1, 3, ["RN-2"])
    dated = answer(get(LIST, params={"DocumentDateFrom": "2026-06-14", "DocumentDateTo": "2026-06-14",
                                     "format": "json"}))
    assert [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in dated["Results"]] == ["RN-2"]
    after = answer(get(LIST, params={"DocumentDateGreaterThan": "2026-06-13", "OrderByDesc": "DocumentDate",
                                     "format": "json"}))
    assert [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in after["Results"]] == ["RN-3", "RN-2"]
    for name, day, expected in ((">DocumentDate", "2026-06-14", ["RN-2", "RN-3"]),
                                ("DocumentDate<", "2026-06-14", ["RN-1", "RN-2"]),
                                ("DocumentDate>", "2026-06-14", ["RN-3"]), ("<DocumentDate", "2026-06-14", ["RN-1"]),
                                ("DocumentDate", "2026-06-13", ["RN-1"])):
        found = answer(get(LIST, params={name: day, "format": "json"}))["Results"]
        assert [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in found] == expected, name
    by_mid = answer(get(LIST, params={"OrderBy": "-AcCusRefundNoteMID", "Take": "1", "format": "json"}))
    assert [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in by_mid["Results"]] == ["RN-3"]
    by_invoice = answer(get(LIST, params={"accusinvoicemid": seed.INVOICE, "format": "json"}))  # any case
    assert by_invoice["Total"] == 3
    assert answer(get(LIST, params={"AcCusInvoiceMID": "IV-NONE", "format": "json"}))["Results"] == []
    in_jsv = get(LIST, params={"Take": "2"}, Accept=JSV)
    assert in_jsv.headers["content-type"].startswith(JSV)
    assert [n["DocumentHeader"]["AcCusRefundNoteMID"] for n in answer(in_jsv)["Results"]] == ["RN-1", "RN-2"]


def test_read_and_list_answer_json_in_camel_case_and_honour_jsconfig(post, get):  # noqa: F811
    assert post(small("RN-C")).status_code == 200
    listed = get(LIST, params={"format": "json"}).json()
    assert list(listed) == ["offset", "total", "results", "meta", "responseStatus"]  # AutoQuery's QueryResponse
    assert listed["results"][0]["documentHeader"]["acCusRefundNoteMID"] == "RN-C"
    pascal = get(LIST, params={"format": "json", "jsconfig": "TextCase:PascalCase"}).json()
    assert list(pascal) == ["Offset", "Total", "Results", "Meta", "ResponseStatus"]
    read = get(f"{LIST}/RN-C", params={"format": "json"}).json()
    assert read["responseStatus"]["meta"]["State"] == "posted"
    missing = get(f"{LIST}/RN-NONE", params={"jsconfig": "eccn:false"}, Accept="application/json").json()
    assert missing["ResponseStatus"]["Errors"][0]["FieldName"] == "AcCusRefundNoteMID"


def test_bad_list_queries_name_the_parameter(get):
    response = get(LIST, params={"Take": "0", "Skip": "-1", "DocumentDateFrom": "yesterday", "Colour": "red"})
    assert response.status_code == 400
    assert sorted(errors(response)) == [("Colour", "validation_error"), ("DocumentDateFrom", "validation_error"),
                                        ("Skip", "validation_error"), ("Take", "validation_error")]
    assert get(LIST, params={"OrderBy": "Secret"}).status_code == 400
    assert get(LIST, params={"Include": "Total", "Fields": "AcCusRefundNoteMID", "Meta": "x"}).status_code == 200


def test_credentials_permission_and_tenancy(post, get, demo, make_token, make_tenant, engine, clock):  # noqa: F811
    assert post(small("RN-T")).status_code == 200
    for path in (f"{LIST}/RN-T", LIST):
        response = get(path, key=False)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert errors(response) == [("Authorization", "unauthorized")]
        writer = make_token({"tenant": demo["name"]}, "refund:create")
        response = get(path, key=writer)
        assert response.status_code == 403 and status(response)["ErrorCode"] == "forbidden"
    reader = make_token({"tenant": demo["name"]}, "refund:read")
    assert get(f"{LIST}/RN-T", key=reader).status_code == 200
    other = make_tenant(currency="MYR")
    foreign = get(f"{LIST}/RN-T", key=other["token"])  # another tenant's number: not found
    assert foreign.status_code == 404 and errors(foreign) == [("AcCusRefundNoteMID", "not_found")]
    assert answer(get(LIST, key=other["token"], params={"format": "json"})) == {
        "Offset": 0, "Total": 0, "Results": [], "Meta": {}, "ResponseStatus": None}
