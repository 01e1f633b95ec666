"""Device names accepted by the service and the trainer, and how they resolve."""

from __future__ import annotations

import logging
import re

import torch

logger = logging.getLogger(__name__)

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")
ALLOWED_DEVICES = "auto, cpu, cuda or cuda:N"


class DeviceUnavailable(Exception):
    """Raised when the requested device does not exist on this machine."""


def resolve_device(spec: str) -> torch.device:
    """Turn 'auto', 'cpu', 'cuda' or 'cuda:N' into a torch.device that exists here.

    'auto' picks cuda:0 when CUDA is available, else the CPU.
    """
    if not DEVICE_PATTERN.match(spec):
        raise ValueError(f"invalid device {spec!r}: expected {ALLOWED_DEVICES}")

    if spec == "auto":
        device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        logger.info("device auto resolved to %s", device)
        return device

    if spec == "cpu":
        return torch.device("cpu")

    if not torch.cuda.is_available():
        raise DeviceUnavailable(
            f"device {spec!r} requested but CUDA is not available on this machine "
            "(use 'cpu' or 'auto')"
        )
    index = int(spec.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceUnavailable(
            f"device {spec!r} requested but this machine has {count} CUDA device(s) "
            f"(valid: cuda:0 to cuda:{count - 1})"
        )
    return torch.device("cuda", index)
