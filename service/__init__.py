"""surfserve: serve a TorchScript surface model y = f(x0, x1) over HTTP."""

__version__ = "0.1.0"
