"""Schemathesis over the offers routes only: no input may produce a server error (the suite-wide
``tests/api/test_fuzz.py`` covers them too; this one runs in seconds while working on offers)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import WorkspaceKeys


@pytest.fixture
def offers_schema(app, workspace: WorkspaceKeys):  # noqa: ANN001, ANN201
    app.state.fuzz_keys = workspace
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("offers_schema").include(path_regex="^/api/(offers|claims)")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_to_the_offers_routes_gives_a_server_error(case, app) -> None:  # noqa: ANN001
    response = case.call(headers=app.state.fuzz_keys.bearer())
    case.validate_response(response, checks=[not_a_server_error])
