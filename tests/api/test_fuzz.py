"""Schemathesis over the whole OpenAPI document: no input may produce a server error.

Every operation gets generated requests (valid and invalid) with an owner's secret key and a
write key, against the real app and database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import WorkspaceKeys


@pytest.fixture
def api_schema(app, workspace: WorkspaceKeys):  # noqa: ANN001, ANN201
    app.state.fuzz_keys = workspace
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_gives_a_server_error(case, app) -> None:  # noqa: ANN001
    keys: WorkspaceKeys = app.state.fuzz_keys
    import base64

    if case.path.startswith("/v1/"):
        headers = {"Authorization": "Basic " + base64.b64encode(f"{keys.write_key}:".encode()).decode()}
    else:
        headers = keys.bearer()
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
