"""The CURVE keys of an experiment, and ``ASYNCNNI_AUTH``, what a trial needs of them.

An experiment on tcp keeps its keys in ``<experiment folder>/keys/`` (folders 0700, files
0600, in zmq.auth's certificate format):

- ``server.key`` / ``server.key_secret``: the dispatcher's key pair;
- ``trial.key_secret``: the key pair its trials use (handed to them in ``ASYNCNNI_AUTH``);
- ``clients/*.key``: the public keys the dispatcher admits (``trial.key``; add another
  certificate there for a worker of your own, before the run starts).

A resumed experiment keeps its keys. ``ASYNCNNI_AUTH`` is ``curve SERVER PUBLIC SECRET``
(three Z85 keys); whoever reads it can speak for a trial, so it travels like a password.

The trial side (:func:`client_from_env`) imports nothing but the standard library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import AsyncNNIError

if TYPE_CHECKING:  # a trial imports this module for client_from_env
    from pathlib import Path

AUTH_SCHEME = "curve"


class AuthError(AsyncNNIError, ValueError):
    """ASYNCNNI_AUTH or a key file is malformed."""


def _private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _key_pair(folder: Path, name: str) -> tuple[bytes, bytes]:
    """``name``'s key pair in ``folder``, made on first use."""
    import zmq.auth

    secret_file = folder / f"{name}.key_secret"
    if not secret_file.exists():
        zmq.auth.create_certificates(folder, name)
        for path in (folder / f"{name}.key", secret_file):
            path.chmod(0o600)
    public, secret = zmq.auth.load_certificate(secret_file)
    if secret is None:
        raise AuthError(f"{secret_file}: no secret key in it")
    return public, secret


def experiment_keys(experiment_folder: Path):
    """The dispatcher's :class:`~asyncnni.transport.CurveServer` and the trials'
    :class:`~asyncnni.transport.CurveClient` of this experiment, made on first use."""
    from .transport import CurveClient, CurveServer

    keys = _private_folder(experiment_folder / "keys")
    clients = _private_folder(keys / "clients")
    server_public, server_secret = _key_pair(keys, "server")
    trial_public, trial_secret = _key_pair(keys, "trial")
    admitted = clients / "trial.key"
    if not admitted.exists():
        (keys / "trial.key").rename(admitted)
    return (
        CurveServer(server_public, server_secret, clients),
        CurveClient(server_public, trial_public, trial_secret),
    )


def env_value(client) -> str:
    """The ``ASYNCNNI_AUTH`` value that hands ``client`` (a CurveClient) to a trial."""
    keys = (client.server_key, client.public_key, client.secret_key)
    return " ".join([AUTH_SCHEME, *(key.decode("ascii") for key in keys)])


def client_from_env(value: str | None):
    """The CurveClient that ``ASYNCNNI_AUTH`` describes, or None when it is unset or empty."""
    if not value:
        return None
    parts = value.split()
    if len(parts) != 4 or parts[0] != AUTH_SCHEME or any(len(key) != 40 for key in parts[1:]):
        raise AuthError(
            "ASYNCNNI_AUTH must be 'curve SERVER_KEY PUBLIC_KEY SECRET_KEY' (Z85 keys of 40 "
            "characters), as the experiment sets it"
        )
    from .transport import CurveClient

    return CurveClient(*(key.encode("ascii") for key in parts[1:]))
