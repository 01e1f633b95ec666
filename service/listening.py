"""The listening socket, bound before the server starts so that a bad address stops start-up.

uvicorn (0.55) binds the address only after the app's start-up has begun loading
the artifact, and reports a failure with the bare OS error and exit code 3.
"""

from __future__ import annotations

import errno
import logging
import os
import socket

logger = logging.getLogger(__name__)

# The next step to suggest for a failed bind, by errno.
_HINTS = {
    errno.EADDRINUSE: "another process listens on that port; stop it or set another SURFSERVE_PORT",
    errno.EADDRNOTAVAIL: "the address is not one of this machine's; set SURFSERVE_HOST to one "
    "of them, or to 0.0.0.0 for every interface",
    errno.EACCES: "ports below 1024 need privileges; set SURFSERVE_PORT to 1024 or above",
}
_UNKNOWN_HOST_HINT = "set SURFSERVE_HOST to an IP address or a host name of this machine"


class ListenError(Exception):
    """Raised when the service cannot bind SURFSERVE_HOST:SURFSERVE_PORT, which stops start-up."""


def bind_listening_socket(host: str, port: int) -> socket.socket:
    """Bind a TCP socket to ``host``:``port`` for uvicorn, or raise ListenError naming both.

    The socket is inheritable, so that worker processes can accept on it.
    """
    # An IPv6 address contains a colon. uvicorn's own bind chooses the family the same way.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ListenError(_describe(host, port, error)) from None
    sock.set_inheritable(True)

    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    # The process id is what SIGHUP reloads need, also under make.
    logger.info(
        "listening on http://%s:%d (process %d)", shown_host, sock.getsockname()[1], os.getpid()
    )
    return sock


def _describe(host: str, port: int, error: OSError) -> str:
    reason = error.strerror or str(error)
    if isinstance(error, socket.gaierror):
        hint = _UNKNOWN_HOST_HINT
    else:
        hint = _HINTS.get(error.errno or 0, "")
    message = f"cannot listen on SURFSERVE_HOST={host} SURFSERVE_PORT={port}: {reason}"
    return f"{message}; {hint}" if hint else message
