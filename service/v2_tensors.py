"""Tensor data of the Open Inference Protocol: datatypes, and points from JSON or raw bytes.

The protocol names element types with strings such as ``FP32`` or ``INT64``.
Inputs arrive either as a JSON ``data`` list (flat or nested, row-major) or,
with the binary tensor data extension, as the tensor's little-endian bytes.
Every accepted numeric datatype is converted to the float32 points the
predictor core takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.errors import non_finite_name
from service.v2_errors import ProtocolError


@dataclass(frozen=True)
class Datatype:
    """One protocol element type and its little-endian numpy layout."""

    name: str
    dtype: np.dtype
    kind: str  # "float", "int", "bool" or "bytes"

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize


DATATYPES = {
    datatype.name: datatype
    for datatype in (
        Datatype("BOOL", np.dtype("?"), "bool"),
        Datatype("UINT8", np.dtype("u1"), "int"),
        Datatype("UINT16", np.dtype("<u2"), "int"),
        Datatype("UINT32", np.dtype("<u4"), "int"),
        Datatype("UINT64", np.dtype("<u8"), "int"),
        Datatype("INT8", np.dtype("i1"), "int"),
        Datatype("INT16", np.dtype("<i2"), "int"),
        Datatype("INT32", np.dtype("<i4"), "int"),
        Datatype("INT64", np.dtype("<i8"), "int"),
        Datatype("FP16", np.dtype("<f2"), "float"),
        # numpy has no bfloat16; its bits are the upper half of a float32.
        Datatype("BF16", np.dtype("<u2"), "float"),
        Datatype("FP32", np.dtype("<f4"), "float"),
        Datatype("FP64", np.dtype("<f8"), "float"),
        # Variable-length strings; listed so the error can name them as unsupported.
        Datatype("BYTES", np.dtype("O"), "bytes"),
    )
}

# Datatypes the "input" tensor accepts; each is converted to float32.
POINT_DATATYPES = tuple(
    name for name, datatype in DATATYPES.items() if datatype.kind in ("float", "int")
)
COORDINATES = 2


def point_datatype(input_name: str, name: Any) -> Datatype:
    """Return the datatype of the points input, or raise ProtocolError for any other."""
    datatype = DATATYPES.get(name) if isinstance(name, str) else None
    if datatype is None or datatype.name not in POINT_DATATYPES:
        received = f"{name!r}" if datatype is None else datatype.name
        raise ProtocolError(
            f"input {input_name!r} has datatype {received}, which is not supported; "
            f"send FP32 (also accepted: {', '.join(n for n in POINT_DATATYPES if n != 'FP32')})"
        )
    return datatype


def point_count(input_name: str, shape: Any, max_points: int) -> int:
    """Check that ``shape`` is [N, 2] with 1 <= N <= max_points; return N."""
    if not isinstance(shape, list) or not all(_is_integer(size) for size in shape):
        raise ProtocolError(
            f"input {input_name!r} shape must be a list of integers, got {_short(shape)}"
        )
    if len(shape) != 2 or shape[1] != COORDINATES or shape[0] < 0:
        raise ProtocolError(
            f"input {input_name!r} has shape {shape}; expected [N, 2], one (x0, x1) row per point"
        )

    count = shape[0]
    if count == 0:
        raise ProtocolError(
            f"input {input_name!r} has shape {shape}, an empty batch; "
            f"send between 1 and {max_points} points"
        )
    if count > max_points:
        raise ProtocolError(
            f"input {input_name!r} has {count} points, above the limit of {max_points} per "
            "request (SURFSERVE_MAX_POINTS); split the batch",
            status_code=413,
        )
    return count


def points_from_bytes(
    input_name: str, datatype: Datatype, count: int, raw: bytes | memoryview
) -> np.ndarray:
    """Decode ``count`` points sent as little-endian binary data into float32 (N, 2)."""
    expected = count * COORDINATES * datatype.itemsize
    if len(raw) != expected:
        raise ProtocolError(
            f"input {input_name!r} has binary_data_size {len(raw)} bytes, but shape "
            f"[{count}, 2] of {datatype.name} needs {count} x 2 x {datatype.itemsize} = "
            f"{expected} bytes"
        )

    values = np.frombuffer(raw, dtype=datatype.dtype)
    if datatype.name == "BF16":
        values = (values.astype(np.uint32) << 16).view(np.float32)
    if datatype.kind == "float":
        _check_finite(input_name, values)
    return _to_float32(values).reshape(count, COORDINATES)


def points_from_json(input_name: str, datatype: Datatype, count: int, data: Any) -> np.ndarray:
    """Decode a JSON ``data`` list, flat or nested as [N][2], into float32 (N, 2)."""
    if datatype.name == "BF16":
        raise ProtocolError(
            f"input {input_name!r} has datatype BF16, which JSON cannot carry; "
            "send it as binary data or use FP32"
        )
    flat = _flatten(input_name, count, data)

    # One pass over the element types catches strings, nulls and booleans, which
    # numpy would otherwise turn into numbers silently.
    allowed = (int,) if datatype.kind == "int" else (int, float)
    if not set(map(type, flat)) <= set(allowed):
        _raise_first_bad_element(input_name, datatype, flat, allowed)

    if datatype.kind == "int":
        _check_integer_range(input_name, datatype, flat)
        values = np.array(flat, dtype=np.float64)
    else:
        values = _float_values(flat)
        _check_finite(input_name, values)
    return _to_float32(values).reshape(count, COORDINATES)


def _flatten(input_name: str, count: int, data: Any) -> list[Any]:
    size = count * COORDINATES
    if not isinstance(data, list):
        raise ProtocolError(
            f"input {input_name!r} data must be a list of {size} numbers, got {_short(data)}"
        )
    # A nested list has count rows and a flat one count * 2 values, so the length
    # decides. A list inside a flat list is then caught by the element type check.
    if len(data) == size:
        return data

    if len(data) != count or not all(
        isinstance(row, list) and len(row) == COORDINATES for row in data
    ):
        raise ProtocolError(
            f"input {input_name!r} data does not match shape [{count}, 2]: send {size} "
            f"numbers in a flat list, or {count} rows of 2 numbers each"
        )
    return [value for row in data for value in row]


def _raise_first_bad_element(
    input_name: str, datatype: Datatype, flat: list[Any], allowed: tuple[type, ...]
) -> None:
    expected = "an integer" if datatype.kind == "int" else "a number"
    for index, value in enumerate(flat):
        if type(value) not in allowed:
            raise ProtocolError(
                f"input {input_name!r} data element {index} (point {index // COORDINATES}, "
                f"{_coordinate(index)}) must be {expected} for datatype {datatype.name}, "
                f"got {_short(value)}"
            )


def _check_integer_range(input_name: str, datatype: Datatype, flat: list[int]) -> None:
    limits = np.iinfo(datatype.dtype)
    low, high = min(flat), max(flat)
    if low >= limits.min and high <= limits.max:
        return
    for index, value in enumerate(flat):
        if not limits.min <= value <= limits.max:
            raise ProtocolError(
                f"input {input_name!r} data element {index} is {value}, outside the "
                f"{datatype.name} range {limits.min} to {limits.max}"
            )


def _float_values(flat: list[Any]) -> np.ndarray:
    try:
        return np.array(flat, dtype=np.float64)
    except OverflowError:
        # An integer literal beyond float64 lands here; like /predict, treat it as
        # infinite, which the finiteness check then reports.
        return np.array([_as_float(value) for value in flat], dtype=np.float64)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _check_finite(input_name: str, values: np.ndarray) -> None:
    finite = np.isfinite(values)
    if finite.all():
        return
    index = int(np.argmin(finite))
    raise ProtocolError(
        f"input {input_name!r} element {index} (point {index // COORDINATES}, "
        f"{_coordinate(index)}) is {non_finite_name(float(values[index]))}; every coordinate "
        "must be a finite number"
    )


def _to_float32(values: np.ndarray) -> np.ndarray:
    # Finite FP64 values beyond float32's range become +-inf here, as on /predict:
    # the model clamps its input, so a far-away point is still a valid query.
    # astype copies, so binary input never stays a read-only view of the request body.
    with np.errstate(over="ignore"):
        return values.astype(np.float32)


def _coordinate(index: int) -> str:
    return ("x0", "x1")[index % COORDINATES]


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:60] + "…"
