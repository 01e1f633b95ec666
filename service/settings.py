"""Service settings, read from SURFSERVE_* environment variables."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.devices import ALLOWED_DEVICES, DEVICE_PATTERN
from service.limits import default_body_limit

logger = logging.getLogger(__name__)

ENV_PREFIX = "SURFSERVE_"
# docker-compose.yml reads these on the host to publish the port. They reach the
# service only when exported in the shell that also runs it, and are no typo there.
_COMPOSE_VARIABLES = frozenset(
    {"SURFSERVE_PUBLISH_ADDRESS", "SURFSERVE_PUBLISH_PORT", "SURFSERVE_GPU_PUBLISH_PORT"}
)

LogLevel = Literal["debug", "info", "warning", "error", "critical"]

# Fields whose received value never appears in an error message.
_SECRET_FIELDS = frozenset({"api_key"})
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_ORIGIN = re.compile(r"https?://[^/\s]+")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [origin.strip() for origin in value.split(",") if origin.strip()]
    return value


class SettingsError(Exception):
    """Raised when an environment variable contains a value the service cannot use."""


class Settings(BaseSettings):
    """Every setting of the service; each field is read from SURFSERVE_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    model_path: Path = Field(Path("models/surface.pt"), description="TorchScript artifact to serve")
    device: str = Field("auto", description=f"torch device: {ALLOWED_DEVICES}")
    host: str = Field("127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on")
    torch_threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="torch intra-op threads per worker (default: the CPU quota divided by workers)",
    )
    workers: int = Field(1, ge=1, le=64, description="server worker processes")
    batching: bool = Field(
        True, description="merge concurrent small /predict requests into one forward pass"
    )
    batch_max_points: int = Field(
        256, ge=1, le=2048, description="max points in one merged forward pass (batching)"
    )
    batch_max_wait_ms: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="max milliseconds a request waits for others to join its batch (batching)",
    )
    max_points: int = Field(1_000_000, ge=1, description="max points in one /predict request")
    max_grid_points: int = Field(4_000_000, ge=4, description="max nx*ny of one /grid request")
    log_level: Annotated[LogLevel, BeforeValidator(_lower)] = Field(
        "info", description="log level: debug, info, warning, error or critical"
    )
    log_format: Annotated[Literal["json", "text"], BeforeValidator(_lower)] = Field(
        "json", description="log line format: json (one object per line) or text"
    )
    max_body_bytes: int | None = Field(
        None,
        ge=1,
        description="max request body in bytes (default: 64 per point of SURFSERVE_MAX_POINTS "
        "plus 64 KiB)",
    )
    request_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="seconds a request may take before the response is 504"
    )
    max_concurrent_requests: int = Field(
        128,
        ge=1,
        description="requests in progress (health and metrics excluded) before new ones get 503",
    )
    graceful_shutdown_s: float = Field(
        30.0, ge=0, le=3600, description="seconds in-flight requests get to finish after SIGTERM"
    )
    api_key: SecretStr | None = Field(
        None, description="bearer token required on all routes but health and metrics (unset: off)"
    )
    cors_origins: Annotated[list[str], NoDecode, BeforeValidator(_split_commas)] = Field(
        default_factory=list, description="comma-separated origins allowed by CORS (empty: off)"
    )

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if not DEVICE_PATTERN.match(value):
            raise ValueError(f"expected {ALLOWED_DEVICES}")
        return value

    @field_validator("api_key")
    @classmethod
    def _check_api_key(cls, value: SecretStr | None) -> SecretStr | None:
        # The token travels in an HTTP header, which contains visible ASCII only.
        if value is not None and not _VISIBLE_ASCII.fullmatch(value.get_secret_value()):
            raise ValueError(
                "expected visible ASCII characters without spaces (unset it to turn auth off)"
            )
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"expected origins like https://app.example.com, got {origin!r}")
        return value

    @property
    def body_limit(self) -> int:
        """The max request body in bytes: the setting, or one sized for max_points."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return default_body_limit(self.max_points)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; raise SettingsError with one line on a bad value."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        variable = ENV_PREFIX + field.upper()
        received = "<hidden>" if field in _SECRET_FIELDS else repr(item.get("input"))
        problems.append(f"{variable}={received} is invalid: {_allowed(item)}")
    return "; ".join(problems)


def _allowed(item: dict[str, Any]) -> str:
    # pydantic's message already names a bound ("greater than or equal to 1"),
    # minus the "Value error, " prefix it puts on custom validators. A value of
    # the wrong type gets the allowed range added, which that message lacks.
    message = str(item["msg"]).removeprefix("Value error, ")
    kind = item.get("type")
    if kind == "bool_parsing":
        return f"{message}; allowed: true or false (also 1/0, yes/no, on/off)"
    if kind in ("int_parsing", "int_from_float", "float_parsing") and item["loc"]:
        return f"{message}; allowed: {_number_range(str(item['loc'][0]), kind)}"
    return message


def _number_range(field: str, kind: str) -> str:
    noun = "a number" if kind == "float_parsing" else "an integer"
    info = Settings.model_fields.get(field)
    bounds = {
        name: getattr(constraint, name)
        for constraint in (info.metadata if info is not None else ())
        for name in _BOUND_WORDS
        if getattr(constraint, name, None) is not None
    }
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']} to {bounds['le']}"
    limits = [f"{_BOUND_WORDS[name]} {value}" for name, value in bounds.items()]
    return " ".join([noun, " and ".join(limits)]) if limits else noun


# The words for each bound of a range, keyed by annotated_types' name for it.
_BOUND_WORDS = {"ge": "of at least", "gt": "above", "le": "at most", "lt": "below"}


def warn_unknown_variables(environment: Mapping[str, str]) -> None:
    """Log a warning for each SURFSERVE_* variable that is no setting, with the closest setting.

    pydantic-settings ignores such a variable, so a misspelled setting would
    otherwise leave its default in place without a word. Values are not logged,
    because a misspelled SURFSERVE_API_KEY contains a secret.
    """
    # pydantic-settings matches names case-insensitively.
    fields = sorted(field.upper() for field in Settings.model_fields)
    for variable in sorted(environment):
        name = variable.upper()
        if not name.startswith(ENV_PREFIX) or name in _COMPOSE_VARIABLES:
            continue
        field = name.removeprefix(ENV_PREFIX)
        if field in fields:
            continue
        # Compared without the prefix, which every name shares and which would
        # make any two names look alike.
        closest = difflib.get_close_matches(field, fields, n=1)
        if closest:
            suggestion = f"did you mean {ENV_PREFIX}{closest[0]}?"
        else:
            suggestion = "the settings are " + ", ".join(ENV_PREFIX + known for known in fields)
        logger.warning("%s is not a setting and is ignored; %s", variable, suggestion)
