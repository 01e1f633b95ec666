"""CPU quota of this process, so torch threads match what the container really gets."""

from __future__ import annotations

import math
import os
from pathlib import Path

_CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def available_cpus() -> int:
    """Return the CPUs this process may use: affinity, capped by a cgroup CPU quota.

    os.cpu_count() reports the host's cores, which oversubscribes a container
    limited with --cpus; the cgroup quota is what the scheduler enforces.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1

    quota = _cgroup_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_quota() -> float | None:
    try:
        if _CGROUP_V2_MAX.exists():
            quota, period = _CGROUP_V2_MAX.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if _CGROUP_V1_QUOTA.exists():
            quota_us = int(_CGROUP_V1_QUOTA.read_text())
            period_us = int(_CGROUP_V1_PERIOD.read_text())
            return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None
    return None
