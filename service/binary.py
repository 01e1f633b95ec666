"""Binary bodies: little-endian float32 points and predictions, and .npy grids."""

from __future__ import annotations

import io

import numpy as np

from service.decoding import FINITE, POINTS_FIELD, check_point_count
from service.errors import InvalidInput, non_finite_name

_LITTLE_ENDIAN_FLOAT32 = np.dtype("<f4")
POINT_BYTES = 2 * _LITTLE_ENDIAN_FLOAT32.itemsize
_COORDINATES = ("x0", "x1")


def decode_binary_points(body: bytes, max_points: int) -> np.ndarray:
    """Decode little-endian float32 (x0, x1) pairs into a float32 array (N, 2).

    Raises InvalidInput for an empty body, a length that is not a whole number of
    points, or a NaN or infinity; PayloadTooLarge above ``max_points`` points.
    """
    if not body:
        raise InvalidInput(
            f"request body is empty; send little-endian float32 (x0, x1) pairs, "
            f"{POINT_BYTES} bytes per point",
            field="body",
            value=0,
            allowed=f"a positive multiple of {POINT_BYTES} bytes",
        )
    if len(body) % POINT_BYTES:
        raise InvalidInput(
            f"request body has {len(body)} bytes, which is not a multiple of {POINT_BYTES}; "
            f"send little-endian float32 (x0, x1) pairs, {POINT_BYTES} bytes per point",
            field="body",
            value=len(body),
            allowed=f"a positive multiple of {POINT_BYTES} bytes",
        )
    check_point_count(len(body) // POINT_BYTES, max_points)

    # astype copies: the buffer of a bytes object is read-only, and torch wants
    # to own writable memory.
    points = np.frombuffer(body, dtype=_LITTLE_ENDIAN_FLOAT32).reshape(-1, 2)
    points = points.astype(np.float32, order="C")

    finite = np.isfinite(points)
    if not finite.all():
        index, axis = (int(i) for i in np.argwhere(~finite)[0])
        value = float(points[index, axis])
        field = f"{POINTS_FIELD}[{index}][{axis}]"
        raise InvalidInput(
            f"{field} ({_COORDINATES[axis]}) must be {FINITE}, got {non_finite_name(value)}",
            field=field,
            index=index,
            value=value,
            allowed=FINITE,
        )
    return points


def encode_predictions(predictions: np.ndarray) -> bytes:
    """Encode predictions (N,) as N little-endian float32 values."""
    return predictions.astype(_LITTLE_ENDIAN_FLOAT32, copy=False).tobytes()


def encode_npy(values: np.ndarray) -> bytes:
    """Encode an array in numpy's .npy format (``np.load`` reads it back)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, values, allow_pickle=False)
    return buffer.getvalue()
