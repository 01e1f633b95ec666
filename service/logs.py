"""Logging configuration, applied once by the entry point (uvicorn's loggers included).

By default each line is one JSON object with the fields ``time``, ``level``,
``logger`` and ``message``. It adds the ``request_id`` of the request being
served when there is one, the ``extra`` fields of the call, and ``exception``
with the traceback for ``logger.exception``. The text format writes the same
fields on one line: the message, the ``extra`` fields as key=value, then the
request id. A traceback follows on the next lines.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import orjson

from service.context import current_request

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    # uvicorn adds a second, ANSI-coloured copy of some messages.
    "color_message",
}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request()
        record.request_id = context.request_id if context is not None else None
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in _extra_fields(record):
            if key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """Formats a record as one plain line: message, ``extra`` fields as key=value, request id.

    A traceback, when there is one, follows on the next lines.
    """

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        parts = [super().formatMessage(record)]
        parts.extend(f"{key}={_text_value(value)}" for key, value in _extra_fields(record))
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            parts.append(f"[request {request_id}]")
        return " ".join(parts)


def _extra_fields(record: logging.LogRecord) -> Iterator[tuple[str, Any]]:
    """Yield the ``extra`` fields of a record, in the order that the logging call passed them."""
    for key, value in vars(record).items():
        if key not in _STANDARD_ATTRIBUTES:
            yield key, value


def _text_value(value: object) -> str:
    text = str(value)
    # Quote a value that would break the key=value split or the line, as a JSON string.
    if text == "" or not text.isprintable() or any(character in ' "=' for character in text):
        return orjson.dumps(text).decode()
    return text


def configure_logging(level: str, log_format: str = "json") -> None:
    """Send every log line, surfserve's and uvicorn's, to stderr at ``level``.

    ``log_format`` is ``json`` (one JSON object per line) or ``text``.
    """
    level = level.upper()
    formatter: dict[str, Any] = {"()": JsonFormatter if log_format == "json" else TextFormatter}
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"main": formatter},
            "filters": {"request_id": {"()": RequestIdFilter}},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "main",
                    "filters": ["request_id"],
                    "stream": "ext://sys.stderr",
                }
            },
            "root": {"handlers": ["stderr"], "level": level},
            "loggers": {
                "uvicorn": {"handlers": [], "level": level, "propagate": True},
                "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
                "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            },
        }
    )
