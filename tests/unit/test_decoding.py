import numpy as np
import pytest

from service.decoding import decode_points
from service.errors import InvalidInput, PayloadTooLarge


def test_numbers_and_integers_decode_to_float32():
    points = decode_points(b'{"points": [[1, 2.5], [-3, 1e3]]}', max_points=10)

    assert points.dtype == np.float32
    assert points.flags["C_CONTIGUOUS"]
    assert points.tolist() == [[1.0, 2.5], [-3.0, 1000.0]]


def test_far_coordinates_are_accepted():
    points = decode_points(b'{"points": [[1e300, -1e300], [12345678901234567890, 0]]}', 10)

    assert points.shape == (2, 2)
    assert np.isinf(points[0]).all()


def test_huge_integer_beyond_int64_is_accepted():
    points = decode_points(b'{"points": [[100000000000000000000000, 1]]}', 10)

    assert points[0, 1] == 1.0


@pytest.mark.parametrize(
    ("body", "field", "index", "fragment"),
    [
        (b"", "body", None, "request body is empty"),
        (b"{", "body", None, "not valid JSON"),
        (b"[1, 2]", "body", None, "must be a JSON object"),
        (b"{}", "points", None, "missing field 'points'"),
        (b'{"points": [[0, 0]], "extra": 1}', "extra", None, "unknown field 'extra'"),
        (b'{"points": 5}', "points", None, "must be a list of [x0, x1] pairs"),
        (b'{"points": []}', "points", None, "points is empty"),
        (b'{"points": [[0, 0], 3]}', "points[1]", 1, "must be a pair [x0, x1], got a number"),
        (b'{"points": [[0, 0], [1]]}', "points[1]", 1, "got 1 number(s)"),
        (b'{"points": [[0, 0], [1, 2, 3]]}', "points[1]", 1, "got 3 number(s)"),
        (b'{"points": [[0, "a"]]}', "points[0][1]", 0, 'got a string "a"'),
        (b'{"points": [[0, "1.5"]]}', "points[0][1]", 0, "send numbers unquoted"),
        (b'{"points": [[0, null]]}', "points[0][1]", 0, "got null"),
        (b'{"points": [[true, 1]]}', "points[0][0]", 0, "got a boolean true"),
        (b'{"points": [[1, 2], [NaN, 1]]}', "points[1][0]", 1, "got NaN"),
        (b'{"points": [[1, Infinity]]}', "points[0][1]", 0, "got Infinity"),
        (b'{"points": [[1, -Infinity]]}', "points[0][1]", 0, "got -Infinity"),
        (b'{"points": [[1, "NaN"]]}', "points[0][1]", 0, "NaN and infinities are not allowed"),
        (b'{"points": [[1, "Infinity"]]}', "points[0][1]", 0, "NaN and infinities"),
        (b'{"points": [[1, 1e400]]}', "points[0][1]", 0, "got Infinity"),
        (b'{"points": [[1, 2], [3, [4]]]}', "points[1][1]", 1, "got a list [4]"),
    ],
)
def test_invalid_bodies_name_the_field(body, field, index, fragment):
    with pytest.raises(InvalidInput) as raised:
        decode_points(body, max_points=10)

    error = raised.value.to_body()["error"]
    assert error["field"] == field
    assert error.get("index") == index
    assert fragment in error["message"]
    assert error["code"] == "invalid_input"


def test_too_many_points():
    with pytest.raises(PayloadTooLarge) as raised:
        decode_points(b'{"points": [[0, 0], [1, 1], [2, 2]]}', max_points=2)

    error = raised.value.to_body()["error"]
    assert raised.value.status_code == 413
    assert error["message"] == (
        "points has 3 points, above the limit of 2 per request (SURFSERVE_MAX_POINTS); "
        "split the batch"
    )
    assert error["allowed"] == "1 to 2 points"
    assert error["value"] == 3


def test_non_finite_value_is_echoed_as_string():
    with pytest.raises(InvalidInput) as raised:
        decode_points(b'{"points": [[NaN, 0]]}', max_points=10)

    assert raised.value.to_body()["error"]["value"] == "NaN"
    assert raised.value.to_body()["error"]["allowed"] == "a finite number"
