"""Request bodies sent with a gzip or deflate Content-Encoding, decompressed under a size cap.

Both APIs accept compressed bodies; each turns a ``CompressionError`` into its own
error format (the JSON API's error object, the Open Inference Protocol's string).
"""

from __future__ import annotations

import zlib

# zlib's wbits for each Content-Encoding: gzip framing, and zlib framing for
# "deflate" as RFC 9110 defines it.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
SUPPORTED = "gzip, deflate or identity"


class CompressionError(Exception):
    """Raised for a body that cannot be decompressed; ``status_code`` is 400, 413 or 415."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def decompress_body(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Return the body without its gzip or deflate Content-Encoding, at most ``max_bytes`` long."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in _WBITS:
        raise CompressionError(
            f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or an "
            "uncompressed body",
            status_code=415,
        )

    decompressor = zlib.decompressobj(wbits=_WBITS[encoding])
    try:
        content = decompressor.decompress(body, max_bytes + 1)
    except zlib.error as error:
        raise CompressionError(
            f"request body is not valid {encoding} data: {error}", status_code=400
        ) from None
    if len(content) > max_bytes or decompressor.unconsumed_tail:
        raise CompressionError(
            f"request body decompresses to more than {max_bytes} bytes, above the limit "
            "of SURFSERVE_MAX_BODY_BYTES; split the batch",
            status_code=413,
        )
    if not decompressor.eof:
        raise CompressionError(f"request body is truncated {encoding} data", status_code=400)
    return content
