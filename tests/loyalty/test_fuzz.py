"""Schemathesis over ``/api/loyalty`` only (the whole API is fuzzed by tests/api/test_fuzz.py): no
input, with or without a programme, gives a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import WorkspaceKeys
from tests.loyalty.helpers import make_programme


@pytest.fixture
def loyalty_schema(app, runtime, workspace: WorkspaceKeys):  # noqa: ANN001, ANN201
    make_programme(runtime, workspace, catalogue=[{"offer_id": 1, "points": 10}])
    app.state.fuzz_keys = workspace
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/loyalty")


schema = schemathesis.pytest.from_fixture("loyalty_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_loyalty_input_gives_a_server_error(case, app) -> None:  # noqa: ANN001
    response = case.call(headers=app.state.fuzz_keys.bearer())
    case.validate_response(response, checks=[not_a_server_error])
