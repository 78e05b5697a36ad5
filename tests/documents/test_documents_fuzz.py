"""Contract fuzzing of the document routes (schemathesis on the app's OpenAPI document, as
``tests/fuzz/test_contract.py`` does for the native routes): valid and invalid requests; no
server error, statuses and media types as declared, invalid input refused with a 4xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, negative_data_rejection, status_code_conformance,
)

from salesrefund.http import documents as document_routes
from test_documents_en16931 import golden_refund

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, negative_data_rejection]


def _operations() -> list[tuple[str, str]]:
    out = []
    for route in document_routes.router.routes:
        for method in sorted(route.methods):
            out.append((method, route.path))
    return out


@pytest.fixture
def refund_shop(shop):
    return golden_refund(shop)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("method, path", _operations(), ids=[f"{m} {p}" for m, p in _operations()])
def test_document_operation_contract(app, refund_shop, method, path, mode):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(allow_x00=False)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {refund_shop['tenant']['token']}"}
    anchors = {"refund_id": refund_shop["refund"]["id"], "code": "C1", "number": "INV-100"}
    calls: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case, data):
        if mode.is_positive and data.draw(st.booleans()):
            case.path_parameters = {k: anchors.get(k, v) for k, v in (case.path_parameters or {}).items()}
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        calls.append(response.status_code)

    try:
        run()
    except Unsatisfiable:
        if mode.is_positive or calls:
            raise
    if mode.is_positive and method == "GET":
        assert 200 in calls, calls  # the anchored requests reach a real document
