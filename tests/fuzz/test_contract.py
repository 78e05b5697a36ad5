"""Contract fuzzing of the native API with schemathesis (issue 4, item 11).

The OpenAPI document the app publishes (``GET /openapi.json`` of ``create_app`` on the test
engine) is the contract. For every native operation schemathesis generates requests from it, valid
(positive) and invalid (negative), and sends them with a tenant admin token: a fresh tenant per
operation holding the ``books`` data, stock, a posted and a draft refund and a closed month
(``fuzz_kit.seed_books``). Half of the valid requests have their references pointed at those rows
(``invoice`` -> INV-1, ``line`` -> 1..3, a refund id of the tenant...), so they reach the engine's
rules instead of stopping at "not found". Every response must:

* not be a server error (``not_a_server_error``);
* have a status and media type the document declares (``status_code_conformance``,
  ``content_type_conformance``) and the body it declares (``response_schema_conformance``: the
  models of ``http/responses.py`` for successes, which forbid unknown fields, problem+json for
  every 4xx);
* for invalid input, be a 4xx refusal (``negative_data_rejection``);
* for valid input, never be refused by the request *types* (``valid_data_passes_type_checks``):
  what the document allows, the validators must accept; only the rules the document cannot state
  (caps, dates, references, tax rates between 0 and 100, the currency's decimals) may refuse it.

The stateful test follows the document's links (a created or posted refund's id into get, post,
void, edit, delete, journal, audit) with the same checks.

The five doors are in the same document, each declaring its own envelope (``http/responses.py``):
their operations are fuzzed the same way with the door's credentials (headers, or the body's
``token`` / ``auth_*`` fields, filled in on half of the valid requests), except that BeansBooks
answers refusals with HTTP 200 as its document does, so it is not held to
``negative_data_rejection``.

schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``) does not run under
pytest 9 (it reads ``Function._nodeid``), so the operations are driven through its Python API:
``operation.as_strategy(mode)`` under Hypothesis ``@given``, then ``case.call_and_validate``.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, negative_data_rejection, response_schema_conformance, status_code_conformance,
    use_after_free,
)
from sqlalchemy import delete

from fuzz_kit import STATS, seed_books
from salesrefund.http import documents, native, native_extra, webhooks
from salesrefund.seeds import beansbooks, crmcom, internom, snr2u, vodo
from salesrefund.service.tenants import create_tenant, tenant_id_by_name
from salesrefund.store import tables as t

MAX_EXAMPLES = 20  # per operation and mode
STATEFUL_EXAMPLES = 15

# Messages of the request-type layer (pydantic, through FastAPI): a valid request must never get one.
TYPE_ERRORS = ("Input should", "Field required", "String should", "List should", "Dictionary should",
               "Value error", "unknown field", "Extra inputs", "JSON decode", "the request body is not valid JSON")


@schemathesis.check
def valid_data_passes_type_checks(ctx, response, case):
    """Valid data (positive mode) is never refused by the type layer: such a refusal means the
    document allows what the validators do not (or the other way round)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        return None  # not JSON (a door's JSV): no type-layer messages to look for
    errors = body.get("errors") if isinstance(body, dict) else None
    typed = [e for e in errors or [] if isinstance(e, dict) and e.get("code") == "validation_error"
             and str(e.get("message", "")).startswith(TYPE_ERRORS)]
    if typed:
        raise AssertionError(f"a request the document allows was refused by the type layer: {typed}")
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, valid_data_passes_type_checks]


def _native_operations() -> list[tuple[str, str]]:
    """(method, path) of every native operation, read from the router (no database needed)."""
    doc = FastAPI(routes=(native.router.routes + documents.router.routes + native_extra.router.routes
                          + webhooks.router.routes)).openapi()
    return [(method.upper(), path) for path, item in doc["paths"].items() for method in item]


OPERATIONS = _native_operations()


@pytest.fixture
def seeded(make_tenant, client) -> dict:
    """A fresh admin tenant with the seeded books: {headers, posted, draft}."""
    tenant = make_tenant()
    headers = {"Authorization": f"Bearer {tenant['token']}"}
    return {"headers": headers, **seed_books(client, headers)}


def load_schema(app):
    """The app's document. Strings are generated without U+0000: the server refuses it everywhere
    (PostgreSQL text cannot hold it) and the path and query parameters declare so, but the bodies'
    free-text fields do not; the parser fuzzing (``test_parsers.py``) sends it on purpose."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The test sends each operation's credentials itself (a tenant admin token, a door's own):
    # the bearer scheme the document declares (so /docs can "Authorize") is not generated.
    schema.config.generation.update(allow_x00=False, with_security_parameters=False)
    return schema


@pytest.fixture
def api_schema(app):
    return load_schema(app).include(path_regex=r"^/v1/")


def test_every_native_operation_is_published_and_fuzzed(api_schema):
    published = {(op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())}
    assert published == set(OPERATIONS)
    assert len(OPERATIONS) >= 25


# -- pointing generated references at real rows ----------------------------------------------------

REFERENCES = {"invoice": ["INV-1"], "customer": ["C1"], "product": ["BOOK", "MUG", "WRAP"], "location": ["main"],
              "method": ["card", "cash", "store_credit"], "currency": ["EUR"],
              # plausible figures and dates, so some requests pass every rule and get the success body
              "quantity": ["1", "0.5", "2"], "amount": ["1.00", "0.01", "11.50"], "unit_price": ["4.99", "10.00"],
              "tax_rate": ["15", "0"], "posting_date": ["2026-06-10"], "date": ["2026-06-10"]}
PATH_REFERENCES = {"/v1/customers/{code}": ["C1"], "/v1/products/{code}": ["BOOK", "WRAP"],
                   "/v1/invoices/{number}": ["INV-1"], "/v1/customers/{code}/address": ["C1"],
                   "/v1/invoices/{number}/myinvois-uuid": ["INV-1"]}


def _anchor(value, draw, every: bool):
    """``value`` with its references (``every`` one, or some) replaced by the tenant's real ones
    (valid either way)."""
    if isinstance(value, list):
        return [_anchor(item, draw, every) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key in REFERENCES and isinstance(item, str) and (every or draw(st.booleans())):
            item = draw(st.sampled_from(REFERENCES[key]))
        elif key == "line" and isinstance(item, (int, float)) and not isinstance(item, bool) \
                and (every or draw(st.booleans())):
            item = draw(st.integers(1, 3))
        elif key != "metadata":
            item = _anchor(item, draw, every)
        result[key] = item
    return result


def anchor(case, draw, seeded: dict, path: str) -> None:
    if not draw(st.booleans()):
        return
    every = draw(st.booleans())
    if isinstance(case.body, dict):
        case.body = _anchor(case.body, draw, every)
    if case.query:
        case.query = _anchor(dict(case.query), draw, every)
    parameters = dict(case.path_parameters or {})
    if path in PATH_REFERENCES:
        (name,) = parameters
        parameters[name] = draw(st.sampled_from(PATH_REFERENCES[path]))
    elif "refund_id" in parameters:
        parameters["refund_id"] = draw(st.sampled_from([seeded["posted"], seeded["draft"]]))
    case.path_parameters = parameters


# -- one operation at a time -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_native_operation_contract(api_schema, seeded, method, path, mode):
    operation = api_schema[path][method]
    calls: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case, data):
        if mode.is_positive:
            anchor(case, data.draw, seeded, path)
        response = case.call_and_validate(headers=seeded["headers"], checks=CHECKS)
        calls.append(response.status_code)

    try:
        run()
    except Unsatisfiable:
        # nothing of this operation's request can be made invalid (no parameters, or free-text ones)
        if mode.is_positive or calls:
            raise
    STATS.record(f"{method} {path}", calls)


# -- following the links ---------------------------------------------------------------------------

def test_stateful_links(api_schema, make_tenant, client, engine):
    """Scenarios along the document's links (and those schemathesis infers): refunds created (valid
    or not) then read, posted, voided, edited, deleted, their journal and audit trail read; every
    step checked as above. Each scenario starts from a fresh seeded tenant and leaves no door login
    behind (the one thing a tenant creates that is unique across tenants), so a scenario's choices
    always meet the same state (Hypothesis replays them; a login left taken answered the replay's
    ``POST /v1/doors/credentials`` with 409, which Hypothesis reported as FlakyStrategyDefinition)."""
    steps: list[int] = []

    def fresh() -> tuple[int, dict]:
        tenant = make_tenant()
        headers = {"Authorization": f"Bearer {tenant['token']}"}
        seed_books(client, headers)
        return tenant["id"], headers

    def free_door_logins(tenant_id: int) -> None:
        with engine.begin() as conn:
            conn.execute(delete(t.door_sessions).where(t.door_sessions.c.tenant_id == tenant_id))
            conn.execute(delete(t.door_credentials).where(t.door_credentials.c.tenant_id == tenant_id))

    class Linked(api_schema.as_state_machine()):
        def setup(self):
            self.tenant_id, self.headers = fresh()

        def teardown(self):
            free_door_logins(self.tenant_id)

        def get_call_kwargs(self, case):
            return {"headers": self.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            steps.append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS + [use_after_free], transport_kwargs=kwargs or None,
                                       recorder=getattr(self, "recorder", None))
            except Exception as failure:
                # Shown with the test's output: a failure that does not replay the same way reaches
                # pytest only as Hypothesis' FlakyStrategyDefinition, which names no request.
                print(f"stateful step failed: {case.method} {case.formatted_path} -> {response.status_code}\n"
                      f"{failure}\n{response.text[:1000]}")
                raise

    Linked.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, deadline=None,
                                 database=None, derandomize=True, suppress_health_check=list(HealthCheck)))
    assert steps
    assert any(200 <= status < 300 for status in steps), steps
    STATS.record("stateful (links)", steps)


# -- the doors ---------------------------------------------------------------------------------------

DOOR_OPERATIONS = [("POST", "/api/internom/refund/sale"), ("GET", "/api/internom/refund/sale"), ("POST", "/api/v4/credit_note/pos/{invoice_id}"),
                   ("POST", "/crmcom/v4/authentication/token"), ("POST", "/crmcom/v4/refunds/create"),
                   ("GET", "/crmcom/v4/refunds/show"), ("GET", "/crmcom/v4/refunds/list"),
                   ("POST", "/crmcom/v4/refunds/update"), ("POST", "/crmcom/v4/refunds/reject"), ("POST", "/api/customer/sale/refund"),
                   ("POST", "/api/customer/sale/lookup"), ("POST", "/api/customer/sale/cancel"),
                   ("POST", "/CustomerRefundNotes/simple"), ("GET", "/CustomerRefundNotes/{AcCusRefundNoteMID}"),
                   ("GET", "/CustomerRefundNotes"), ("GET", "/api/v4/credit_note/pos/{invoice_id}")]


def _door(engine, clock, client, path: str) -> dict:
    """The door's seed books in a fresh tenant: {headers, body (credentials and references to fill
    in), query, path (parameters)}."""
    tag = uuid.uuid4().hex[:10]
    if path.startswith("/api/internom"):
        token = f"sr_internom_{tag}"
        assert internom.create(engine, clock, name=f"internom-ct-{tag}", token=token)
        return {"headers": {"Authorization": f"Bearer {token}"},
                "body": {"branch_name": internom.BRANCH, "customer_id": internom.TAX_NUMBER,
                         "product_id": internom.BARCODE, "acs_id": internom.BARCODE}}
    if path.startswith("/api/v4"):
        credentials = dict(vodo.CREDENTIALS, **{"secure-business-key": f"sbk-{tag}", "userToken": f"ut-{tag}"})
        assert vodo.load(engine, clock, name=f"vodo-ct-{tag}", token=f"sr_vodo_{tag}", credentials=credentials)
        return {"headers": credentials, "path": {"invoice_id": vodo.INVOICE},
                "body": {"pos_id": vodo.POS, "pos_session_id": vodo.SESSION, "discount_type": "0"}}
    if path.startswith("/crmcom"):
        name, username = f"crm-ct-{tag}", f"mpadmin-{tag}"
        create_tenant(engine, name, clock=clock, **crmcom.TENANT_OPTIONS)
        crmcom.build(engine, clock, tenant_id_by_name(engine, name), name, username=username)
        login = {"username": username, "password": crmcom.PASSWORD, "organisation": crmcom.ORGANISATION}
        token = client.post(crmcom_base() + "/authentication/token", json=login).json()["data"]["token"]
        return {"body": {**login, "token": token}, "query": {"token": token}}
    if path.startswith("/api/customer"):
        uid, key = 7_000_000 + uuid.uuid4().int % 1_000_000, uuid.uuid4().hex
        assert beansbooks.create(engine, clock, name=f"beans-ct-{tag}", token=f"sr_beans_{tag}", auth_uid=uid,
                                 auth_key=key, auth_expiration=1700000000)
        fill = {"auth_uid": uid, "auth_key": key, "auth_expiration": 1700000000, "id": 1,
                "description": "Coffee beans, 1 kg", "tax_id": 1}
        if not path.endswith("/refund"):  # lookup and cancel name a refund: make one (its id is 2026000001)
            made = client.post("/api/customer/sale/refund", json={
                **fill, "date_created": "2026-06-15", "taxes": [{"tax_id": 1}],
                "lines": [{"description": "Coffee beans, 1 kg", "amount": "-49.99", "quantity": 1}]}).json()
            fill["id"] = made["data"]["sale"]["id"]
        return {"body": fill}
    key = f"key-{tag}"
    assert snr2u.create(engine, clock, name=f"snr2u-ct-{tag}", token=f"sr_{tag}", api_key=key)
    return {"headers": {"Authorization": f"Bearer {key}"}}


def crmcom_base() -> str:
    from salesrefund.http.dialects import crmcom as door
    return door.BASE


def _fill(value, fill: dict):
    """``value`` with the door's credentials and references written over the generated ones."""
    if isinstance(value, list):
        return [_fill(item, fill) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: fill[key] if key in fill else _fill(item, fill) for key, item in value.items()}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("method, path", DOOR_OPERATIONS, ids=[f"{m} {p}" for m, p in DOOR_OPERATIONS])
def test_door_operation_contract(app, engine, clock, client, method, path, mode):
    operation = load_schema(app)[path][method]
    door = _door(engine, clock, client, path)
    checks = [check for check in CHECKS if not (path.startswith("/api/customer/sale/") and check is negative_data_rejection)]
    calls: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case, data):
        if mode.is_positive and data.draw(st.booleans()):
            if isinstance(case.body, dict) and door.get("body"):
                case.body = _fill(case.body, door["body"])
            if door.get("query"):
                case.query = {**(case.query or {}), **door["query"]}
            if door.get("path"):
                case.path_parameters = {**(case.path_parameters or {}), **door["path"]}
        response = case.call_and_validate(headers=door.get("headers"), checks=checks)
        calls.append(response.status_code)

    run()
    STATS.record(f"{method} {path}", calls)
