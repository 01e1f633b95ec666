"""Container health check: ``python -m service.healthcheck`` exits 0 when the service is ready.

Docker runs it inside the container, which has no curl. It requests ``/health/ready`` from
the local service, at the address that the SURFSERVE_* settings give, and prints one line
that Docker keeps in the container's health log.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from service.settings import SettingsError, load_settings

# A service bound to every interface is reached through the loopback address.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1"}

TIMEOUT_SECONDS = 3.0


def ready_url(host: str, port: int) -> str:
    """Return the /health/ready URL of a service listening on ``host``:``port``."""
    host = _WILDCARD_HOSTS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/health/ready"


def check(url: str, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """Request ``url`` and return whether it returned 200, with a one-line description."""
    # An empty ProxyHandler ignores HTTP_PROXY and friends: the service is local.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return True, f"ready: {url} returned {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"not ready: {url} returned {error.code} ({_reason(error)})"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return False, f"not reachable: {url} ({reason})"


def _reason(error: urllib.error.HTTPError) -> str:
    # /health/ready explains a 503 in {"status": "not_ready", "reason": ...}.
    try:
        body = json.loads(error.read())
    except (ValueError, OSError):
        return error.reason
    if isinstance(body, dict) and isinstance(body.get("reason"), str):
        return body["reason"]
    return error.reason


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"invalid setting: {error}", file=sys.stderr)
        return 1

    healthy, description = check(ready_url(settings.host, settings.port))
    print(description)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
