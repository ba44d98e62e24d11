"""Every API operation fuzzed from the OpenAPI document (schemathesis): no 5xx, and every
response (status, content type, body, headers) is one the document describes."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.security.world import build_world, unlink_self_references

#: Generated cases per operation; each is sent by every caller. About a minute on two cores.
EXAMPLES = 12
#: Who sends each case: nobody, a startup member's write token, an officer's read-only token.
CALLERS = ("anon", "member", "officer")


def test_every_operation_conforms_to_the_openapi_document(app: Flask) -> None:
    world = build_world(app)
    headers = {
        "anon": {},
        "member": {"Authorization": f"Bearer {world.tokens['member']}"},
        "officer": {"Authorization": f"Bearer {world.read_tokens['officer']}"},
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:
        _fuzz(operation, headers)
    unlink_self_references(app)


def _fuzz(operation: Any, headers: dict[str, dict[str, str]]) -> None:
    """Send EXAMPLES generated cases of ``operation`` as every caller, validating each response."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        for caller in CALLERS:
            # An opaque cursor is any string by the document, yet only ours are accepted (400
            # otherwise), so "schema-valid data is accepted" cannot hold for it; every other check runs.
            case.call_and_validate(headers=headers[caller], excluded_checks=[positive_data_acceptance])

    fuzz()
