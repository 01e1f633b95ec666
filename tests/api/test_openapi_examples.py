"""The OpenAPI document shows a request and a response example for every endpoint."""

from pathlib import Path

import pytest
import torch

from service.app import create_app
from service.settings import Settings


def _document(**settings) -> dict:
    # The document does not depend on a loaded model, so the app is never started.
    app = create_app(Settings(model_path=Path("unused.pt"), **settings), torch.device("cpu"))
    return app.openapi()


def _has_example(media: dict, schemas: dict) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return "example" in schema or "examples" in schema


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("auth", [False, True])
def test_every_response_has_example(auth):
    document = _document(api_key="k" if auth else None)
    schemas = document["components"]["schemas"]

    missing = [
        f"{name} {status} {media_type}"
        for name, operation in _operations(document)
        for status, response in operation["responses"].items()
        for media_type, media in response.get("content", {}).items()
        if not _has_example(media, schemas)
    ]

    assert missing == []


def test_every_request_body_and_parameter_has_example():
    document = _document()
    schemas = document["components"]["schemas"]

    missing = []
    for name, operation in _operations(document):
        body = operation.get("requestBody", {})
        for media_type, media in body.get("content", {}).items():
            if not _has_example(media, schemas):
                missing.append(f"{name} body {media_type}")
        for parameter in operation.get("parameters", []):
            if not _has_example(parameter, schemas):
                missing.append(f"{name} parameter {parameter['name']}")

    assert missing == []


def test_v2_errors_documented_with_protocol_body():
    document = _document()

    infer = document["paths"]["/v2/models/{name}/infer"]["post"]
    for status in ("400", "404", "413", "503"):
        example = infer["responses"][status]["content"]["application/json"]["example"]
        assert list(example) == ["error"]
        assert isinstance(example["error"], str)
    # No route of the protocol sends FastAPI's validation error body.
    assert "422" not in infer["responses"]
