"""Offline training of the surface model y = f(x0, x1) into a TorchScript artifact."""
