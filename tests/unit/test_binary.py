import io

import numpy as np
import pytest

from service.binary import decode_binary_points, encode_npy, encode_predictions
from service.errors import InvalidInput, PayloadTooLarge


def test_points_round_trip_little_endian():
    points = np.array([[0.5, -1.0], [3.25, 1e30]], dtype="<f4")

    decoded = decode_binary_points(points.tobytes(), max_points=10)

    assert decoded.dtype == np.float32
    assert decoded.flags["C_CONTIGUOUS"]
    assert decoded.flags["WRITEABLE"]
    assert np.array_equal(decoded, points)


def test_big_endian_bytes_are_not_read_natively():
    # The wire format is little-endian whatever the host: 1.0 as big-endian bytes
    # reads as another number.
    decoded = decode_binary_points(np.array([[1.0, 2.0]], dtype=">f4").tobytes(), 10)

    assert decoded.tolist() != [[1.0, 2.0]]


@pytest.mark.parametrize("size", [1, 4, 7, 9, 12])
def test_length_not_multiple_of_8_is_422(size):
    with pytest.raises(InvalidInput) as caught:
        decode_binary_points(b"\0" * size, 10)

    assert caught.value.to_body()["error"] == {
        "code": "invalid_input",
        "message": f"request body has {size} bytes, which is not a multiple of 8; "
        "send little-endian float32 (x0, x1) pairs, 8 bytes per point",
        "field": "body",
        "value": size,
        "allowed": "a positive multiple of 8 bytes",
    }


def test_empty_body_is_422():
    with pytest.raises(InvalidInput, match="request body is empty"):
        decode_binary_points(b"", 10)


@pytest.mark.parametrize(
    ("value", "shown"), [(np.nan, "NaN"), (np.inf, "Infinity"), (-np.inf, "-Infinity")]
)
def test_non_finite_coordinate_names_point(value, shown):
    points = np.zeros((5, 2), dtype="<f4")
    points[3, 1] = value

    with pytest.raises(InvalidInput) as caught:
        decode_binary_points(points.tobytes(), 10)

    error = caught.value.to_body()["error"]
    assert error["message"] == f"points[3][1] (x1) must be a finite number, got {shown}"
    assert error["field"] == "points[3][1]"
    assert error["index"] == 3
    assert error["value"] == shown


def test_too_many_points_is_413():
    with pytest.raises(PayloadTooLarge, match="points has 4 points, above the limit of 3"):
        decode_binary_points(b"\0" * 32, max_points=3)


def test_predictions_encode_as_little_endian_float32():
    predictions = np.array([1.5, -2.25, 3e-8], dtype=np.float32)

    encoded = encode_predictions(predictions)

    assert len(encoded) == 12
    assert np.array_equal(np.frombuffer(encoded, dtype="<f4"), predictions)


def test_npy_loads_back_equal():
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 7

    loaded = np.load(io.BytesIO(encode_npy(values)), allow_pickle=False)

    assert loaded.dtype == np.float32
    assert np.array_equal(loaded, values)
