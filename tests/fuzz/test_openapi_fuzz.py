"""Schemathesis against the app's own OpenAPI document, in process, with a fixed seed.

Every operation in the document gets a bounded number of generated requests,
both valid ones and ones that break the schema. No response may be a server
error, and each must match the documented status codes, content types, headers
and schemas. A request that breaks the schema must be rejected.
"""

import time

import pytest
import schemathesis
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from service.app import create_app
from service.settings import Settings

pytestmark = pytest.mark.fuzz

CPU = torch.device("cpu")
EXAMPLES_PER_OPERATION = 25

# Operations whose valid requests follow rules OpenAPI cannot state, so a
# schema-valid request may rightly get a 4xx; every other check still applies.
RULES_BEYOND_SCHEMA = {
    ("GET", "/grid"): "x0_min < x0_max, x1_min < x1_max, nx*ny <= SURFSERVE_MAX_GRID_POINTS",
    ("POST", "/v2/models/{name}/infer"): "shape matches data; binary bodies need their header",
    ("POST", "/v2/models/{name}/versions/{version}/infer"): "as for /v2/models/{name}/infer",
}

# Binary bodies have a length rule (whole float32 pairs) that the schema cannot state.
BINARY_MEDIA_TYPES = {"application/octet-stream"}


@pytest.fixture(scope="module")
def api_schema(artifact_path):
    # Small limits keep every generated request cheap and let the fuzzer reach them;
    # 10,000 grid points still admit the default 100 x 100 grid.
    app = create_app(Settings(model_path=artifact_path, max_points=64, max_grid_points=10_000), CPU)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    deadline = time.monotonic() + 30
    while not app.state.model_state.ready:
        assert time.monotonic() < deadline, app.state.model_state.error
        time.sleep(0.01)
    return schema


def _fuzz(operation, mode: GenerationMode) -> None:
    excluded = []
    if (operation.method.upper(), operation.path) in RULES_BEYOND_SCHEMA:
        excluded.append(positive_data_acceptance)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        skipped = list(excluded)
        if case.media_type in BINARY_MEDIA_TYPES:
            skipped.append(positive_data_acceptance)
        case.call_and_validate(excluded_checks=skipped)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10

    failures = []
    for operation in operations:
        try:
            _fuzz(operation, mode)
        except Unsatisfiable:
            # Nothing to break: no parameters, or only free-form strings.
            assert mode is GenerationMode.NEGATIVE, operation.path
        except (Exception, BaseExceptionGroup) as error:  # collected, reported together
            failures.append(f"{operation.method.upper()} {operation.path}:\n{error}")

    assert not failures, "\n\n".join(failures)
