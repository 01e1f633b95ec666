"""Decode /predict request bodies into float32 point arrays, with exact error messages.

The fast path hands orjson's output straight to numpy, with the garbage
collector paused. Only a body that the fast path cannot take as an (N, 2) array
of numbers goes through the per-point checks, whose job is to name the first
bad field, its index and value.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import orjson

from service.errors import InvalidInput, PayloadTooLarge, non_finite_name
from service.gcpause import gc_paused

POINTS_FIELD = "points"
FINITE = "a finite number"
_NON_FINITE_STRINGS = {
    "nan",
    "+nan",
    "-nan",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "+infinity",
    "-infinity",
}
_COORDINATES = ("x0", "x1")
# Bytes of JSON numbers, lists of them and whitespace; what a body of such
# points leaves once they are deleted.
_NUMERIC_JSON_BYTES = b"0123456789.eE+-[], \t\r\n"
_POINTS_SKELETON = b'{"points":}'


def decode_json(body: bytes) -> Any:
    """Parse a JSON body; raise InvalidInput naming the position of a syntax error."""
    # isspace() stops at the first other byte; strip() would copy a large body.
    if not body or body.isspace():
        raise InvalidInput(
            'request body is empty; expected a JSON object like {"points": [[0.5, -1.0]]}',
            field="body",
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as strict_error:
        # orjson rejects the NaN and Infinity literals that some encoders emit.
        # The standard library accepts them, so such a body is still decoded and
        # the bad coordinate is reported by name and index instead of as a syntax error.
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidInput(
                f"request body is not valid JSON: {strict_error}", field="body"
            ) from None


def decode_points(body: bytes, max_points: int) -> np.ndarray:
    """Decode ``{"points": [[x0, x1], ...]}`` into a C-contiguous float32 array (N, 2)."""
    with gc_paused():
        document = decode_json(body)
        points = points_field(document)
        check_batch_size(points, max_points)

        array = _fast_points(points, body)
        if array is None:
            array = _checked_points(points)
        return array


def points_field(document: Any) -> list[Any]:
    """Return the ``points`` list of a request object, rejecting any other shape."""
    if not isinstance(document, dict):
        raise InvalidInput(
            f"request body must be a JSON object with a {POINTS_FIELD!r} field, "
            f"got {_json_type(document)}",
            field="body",
            value=document,
            allowed='{"points": [[x0, x1], ...]}',
        )

    unknown = sorted(set(document) - {POINTS_FIELD})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}; the only allowed field is {POINTS_FIELD!r}",
            field=unknown[0],
            allowed=POINTS_FIELD,
        )
    if POINTS_FIELD not in document:
        raise InvalidInput(
            f"missing field {POINTS_FIELD!r}",
            field=POINTS_FIELD,
            allowed="a list of [x0, x1] pairs",
        )

    points = document[POINTS_FIELD]
    if not isinstance(points, list):
        raise InvalidInput(
            f"{POINTS_FIELD} must be a list of [x0, x1] pairs, got {_json_type(points)}",
            field=POINTS_FIELD,
            value=points,
            allowed="a list of [x0, x1] pairs",
        )
    return points


def check_batch_size(points: list[Any], max_points: int) -> None:
    if not points:
        raise InvalidInput(
            f"{POINTS_FIELD} is empty; send between 1 and {max_points} points",
            field=POINTS_FIELD,
            value=points,
            allowed=f"1 to {max_points} points",
        )
    check_point_count(len(points), max_points)


def check_point_count(count: int, max_points: int) -> None:
    """Raise PayloadTooLarge when a request carries more than ``max_points`` points."""
    if count > max_points:
        raise PayloadTooLarge(
            f"{POINTS_FIELD} has {count} points, above the limit of {max_points} "
            "per request (SURFSERVE_MAX_POINTS); split the batch",
            field=POINTS_FIELD,
            value=count,
            allowed=f"1 to {max_points} points",
        )


def _fast_points(points: list[Any], body: bytes) -> np.ndarray | None:
    # np.fromiter converts booleans to 0/1 and numeric strings to numbers, so
    # only a body made of numbers, brackets and commas around the "points" key
    # takes this path. Deleting those bytes must leave exactly the key.
    if body.translate(None, _NUMERIC_JSON_BYTES) != _POINTS_SKELETON:
        return None

    # What is left is numbers and lists. Each point must be a pair, and a list
    # inside a pair makes fromiter raise TypeError.
    try:
        if set(map(len, points)) != {2}:
            return None
        flat = np.fromiter(
            itertools.chain.from_iterable(points), dtype=np.float64, count=2 * len(points)
        )
    except (TypeError, ValueError, OverflowError):
        return None

    if not np.isfinite(flat).all():
        return None
    return _to_float32(flat.reshape(-1, 2))


def _to_float32(array: np.ndarray) -> np.ndarray:
    # Coordinates beyond float32's range become +-inf here, which is intended:
    # the model clamps its input, so a far-away point is still a valid query.
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(array, dtype=np.float32)


def _checked_points(points: list[Any]) -> np.ndarray:
    array = np.empty((len(points), 2), dtype=np.float64)
    for index, point in enumerate(points):
        field = f"{POINTS_FIELD}[{index}]"
        if not isinstance(point, list):
            raise InvalidInput(
                f"{field} must be a pair [x0, x1], got {_json_type(point)}",
                field=field,
                index=index,
                value=point,
                allowed="a list of two finite numbers",
            )
        if len(point) != 2:
            raise InvalidInput(
                f"{field} must be a pair [x0, x1], got {len(point)} number(s)",
                field=field,
                index=index,
                value=point,
                allowed="a list of two finite numbers",
            )
        for axis, coordinate in enumerate(point):
            array[index, axis] = _coordinate(coordinate, f"{field}[{axis}]", index, axis)
    return _to_float32(array)


def _coordinate(value: Any, field: str, index: int, axis: int) -> float:
    name = f"{field} ({_COORDINATES[axis]})"
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = ""
        if isinstance(value, str) and value.strip().lower() in _NON_FINITE_STRINGS:
            hint = "; NaN and infinities are not allowed"
        elif isinstance(value, str):
            hint = "; send numbers unquoted"
        raise InvalidInput(
            f"{name} must be {FINITE}, got {_describe_json(value)}{hint}",
            field=field,
            index=index,
            value=value,
            allowed=FINITE,
        )
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float64's range
        number = math.inf
    if not math.isfinite(number):
        raise InvalidInput(
            f"{name} must be {FINITE}, got {_describe_number(value, number)}",
            field=field,
            index=index,
            value=number,
            allowed=FINITE,
        )
    return number


def _describe_number(value: Any, number: float) -> str:
    if isinstance(value, int):
        return "an integer beyond the float64 range"
    return non_finite_name(number)


def _describe_json(value: Any) -> str:
    if value is None:
        return "null"
    try:
        shown = orjson.dumps(value).decode()
    except TypeError:
        shown = repr(value)
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return f"{_json_type(value)} {shown}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
