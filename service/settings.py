"""Service settings, read from SURFSERVE_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.devices import ALLOWED_DEVICES, DEVICE_PATTERN

ENV_PREFIX = "SURFSERVE_"

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class SettingsError(Exception):
    """Raised when an environment variable holds a value the service cannot use."""


class Settings(BaseSettings):
    """Every setting of the service; each field is read from SURFSERVE_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    model_path: Path = Field(Path("models/surface.pt"), description="TorchScript artifact to serve")
    device: str = Field("auto", description=f"torch device: {ALLOWED_DEVICES}")
    host: str = Field("127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on")
    torch_threads: int | None = Field(
        None, ge=1, le=1024, description="torch intra-op threads (default: the CPU quota)"
    )
    max_points: int = Field(1_000_000, ge=1, description="max points in one /predict request")
    max_grid_points: int = Field(4_000_000, ge=4, description="max nx*ny of one /grid request")
    log_level: Annotated[LogLevel, BeforeValidator(_lower)] = Field(
        "info", description="log level: debug, info, warning, error or critical"
    )

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if not DEVICE_PATTERN.match(value):
            raise ValueError(f"expected {ALLOWED_DEVICES}")
        return value


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
        problems.append(f"{variable}={item.get('input')!r} is invalid: {_allowed(item)}")
    return "; ".join(problems)


def _allowed(item: dict[str, Any]) -> str:
    # pydantic's message already names the bound ("greater than or equal to 1"),
    # minus the "Value error, " prefix it puts on custom validators.
    message = str(item["msg"])
    return message.removeprefix("Value error, ")
