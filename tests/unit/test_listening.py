import errno
import socket

import pytest

from service.listening import ListenError, bind_listening_socket


def test_bound_socket_is_inheritable():
    bound = bind_listening_socket("127.0.0.1", 0)
    try:
        host, port = bound.getsockname()
        inheritable = bound.get_inheritable()
    finally:
        bound.close()

    assert host == "127.0.0.1"
    assert port > 0
    # uvicorn's worker processes accept on the socket the supervisor bound.
    assert inheritable


def test_port_in_use_names_both_settings():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ListenError) as raised:
            bind_listening_socket("127.0.0.1", port)

    assert str(raised.value) == (
        f"cannot listen on SURFSERVE_HOST=127.0.0.1 SURFSERVE_PORT={port}: Address already in "
        "use; another process listens on that port; stop it or set another SURFSERVE_PORT"
    )


def test_unknown_host_names_both_settings(monkeypatch):
    # Resolving a real unknown name would query the network's DNS server, so the
    # test raises the failure that getaddrinfo reports for such a name instead.
    def fail_to_resolve(self, address):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket.socket, "bind", fail_to_resolve)

    with pytest.raises(ListenError) as raised:
        bind_listening_socket("not-a-host", 8124)

    assert str(raised.value) == (
        "cannot listen on SURFSERVE_HOST=not-a-host SURFSERVE_PORT=8124: Name or service not "
        "known; set SURFSERVE_HOST to an IP address or a host name of this machine"
    )


@pytest.mark.parametrize(
    ("number", "reason", "hint"),
    [
        (
            errno.EADDRNOTAVAIL,
            "Cannot assign requested address",
            "the address is not one of this machine's; set SURFSERVE_HOST to one of them, or to "
            "0.0.0.0 for every interface",
        ),
        (
            errno.EACCES,
            "Permission denied",
            "ports below 1024 need privileges; set SURFSERVE_PORT to 1024 or above",
        ),
    ],
    ids=["address-not-local", "privileged-port"],
)
def test_bind_failure_suggests_next_step(monkeypatch, number, reason, hint):
    def fail(self, address):
        raise OSError(number, reason)

    monkeypatch.setattr(socket.socket, "bind", fail)

    with pytest.raises(ListenError) as raised:
        bind_listening_socket("192.0.2.1", 80)

    assert str(raised.value) == (
        f"cannot listen on SURFSERVE_HOST=192.0.2.1 SURFSERVE_PORT=80: {reason}; {hint}"
    )
