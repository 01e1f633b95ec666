"""The request and response formats of /predict, chosen from Content-Type and Accept."""

from __future__ import annotations

from service.errors import NotAcceptable, UnsupportedMediaType

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
MEDIA_TYPES = (JSON, OCTET_STREAM)
_ALLOWED = f"{JSON} or {OCTET_STREAM}"
_FORM = "application/x-www-form-urlencoded"


def request_media_type(content_type: str | None) -> str:
    """Return the media type a /predict body is read as; raise UnsupportedMediaType for others.

    A body without Content-Type is read as JSON, as the JSON API always did.
    """
    if not content_type:
        return JSON

    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in MEDIA_TYPES:
        return media_type

    hint = ""
    if media_type == _FORM:
        hint = " (curl --data sends this type unless told otherwise)"
    raise UnsupportedMediaType(
        f"Content-Type {media_type!r} is not supported{hint}; send {JSON}, or {OCTET_STREAM} "
        "with little-endian float32 (x0, x1) pairs",
        field="content-type",
        value=content_type,
        allowed=_ALLOWED,
    )


def response_media_type(accept: str | None, preferred: str) -> str:
    """Return the media type of the response that Accept rates highest.

    ``preferred`` (the request's own format) wins ties, so a client that sends
    octet-stream with ``Accept: */*`` or no Accept header gets octet-stream back.
    Raises NotAcceptable when Accept rules out both formats.
    """
    if not accept or not accept.strip():
        return preferred

    ranges = _parse_accept(accept)
    candidates = (preferred, *(media for media in MEDIA_TYPES if media != preferred))
    best, best_quality = None, 0.0
    for candidate in candidates:
        quality = _quality(candidate, ranges)
        if quality > best_quality:
            best, best_quality = candidate, quality

    if best is None:
        raise NotAcceptable(
            f"Accept {accept!r} allows none of the response formats; accept {_ALLOWED}",
            field="accept",
            value=accept,
            allowed=_ALLOWED,
        )
    return best


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for element in accept.split(","):
        media_range, *parameters = (part.strip() for part in element.split(";"))
        if "/" not in media_range:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range.lower(), quality))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> float:
    # The most specific range that matches decides (RFC 2616, section 14.1), so
    # application/json beats application/*, which beats */*.
    main_type = media_type.split("/", 1)[0]
    specificity_of = {media_type: 2, f"{main_type}/*": 1, "*/*": 0}
    best_specificity, quality = -1, 0.0
    for media_range, range_quality in ranges:
        specificity = specificity_of.get(media_range, -1)
        if specificity > best_specificity:
            best_specificity, quality = specificity, range_quality
    return quality
