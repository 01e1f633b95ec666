import pytest

from service.errors import NotAcceptable, UnsupportedMediaType
from service.negotiation import JSON, OCTET_STREAM, request_media_type, response_media_type


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("application/json", JSON),
        ("application/json; charset=utf-8", JSON),
        ("Application/JSON", JSON),
        ("application/octet-stream", OCTET_STREAM),
    ],
)
def test_request_media_type(content_type, expected):
    assert request_media_type(content_type) == expected


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_unsupported_content_type_is_415(content_type):
    with pytest.raises(UnsupportedMediaType, match=f"Content-Type '{content_type}' is not"):
        request_media_type(content_type)


def test_unsupported_content_type_body():
    with pytest.raises(UnsupportedMediaType) as caught:
        request_media_type("text/csv; charset=utf-8")

    assert caught.value.status_code == 415
    assert caught.value.to_body() == {
        "error": {
            "code": "unsupported_media_type",
            "message": "Content-Type 'text/csv' is not supported; send application/json, "
            "or application/octet-stream with little-endian float32 (x0, x1) pairs",
            "field": "content-type",
            "value": "text/csv; charset=utf-8",
            "allowed": "application/json or application/octet-stream",
        }
    }


@pytest.mark.parametrize(
    ("accept", "preferred", "expected"),
    [
        (None, JSON, JSON),
        (None, OCTET_STREAM, OCTET_STREAM),
        ("*/*", OCTET_STREAM, OCTET_STREAM),
        ("application/*", JSON, JSON),
        ("application/json", OCTET_STREAM, JSON),
        ("application/octet-stream", JSON, OCTET_STREAM),
        ("application/json;q=0.5, application/octet-stream", JSON, OCTET_STREAM),
        ("application/octet-stream;q=0.2, */*;q=0.9", JSON, JSON),
        ("application/json;q=0, */*", JSON, OCTET_STREAM),
        ("text/html, application/*;q=0.1", OCTET_STREAM, OCTET_STREAM),
        ("APPLICATION/OCTET-STREAM", JSON, OCTET_STREAM),
    ],
)
def test_response_media_type(accept, preferred, expected):
    assert response_media_type(accept, preferred) == expected


@pytest.mark.parametrize(
    "accept",
    ["text/html", "image/png, text/*", "application/json;q=0, application/octet-stream;q=0"],
)
def test_unacceptable_accept_is_406(accept):
    with pytest.raises(NotAcceptable) as caught:
        response_media_type(accept, JSON)

    assert caught.value.status_code == 406
    assert caught.value.field == "accept"
    assert caught.value.allowed == "application/json or application/octet-stream"
    assert f"Accept {accept!r} allows none of the response formats" in caught.value.message


def test_form_content_type_hints_at_curl():
    with pytest.raises(UnsupportedMediaType) as caught:
        request_media_type("application/x-www-form-urlencoded")

    assert caught.value.message == (
        "Content-Type 'application/x-www-form-urlencoded' is not supported "
        "(curl --data sends this type unless told otherwise); send application/json, "
        "or application/octet-stream with little-endian float32 (x0, x1) pairs"
    )
