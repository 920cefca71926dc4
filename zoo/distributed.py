"""Distributed tuning across processes or machines, with keras-tuner's chief/worker mode.

The chief runs the oracle (a gRPC server that hands out trials); each worker
asks it for a trial, trains it and reports back. All share one output folder.
keras-tuner reads three variables; ``zoo tune --chief`` / ``--worker --oracle
HOST:PORT`` set them, or set them yourself:

- ``KERASTUNER_TUNER_ID``: ``chief`` or a unique worker name;
- ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``: where the chief listens.

A worker may start before its chief: it waits for the chief's port to accept connections
(up to ``ZOO_CHIEF_TIMEOUT`` seconds, default 600) before it asks for trials.
"""

from __future__ import annotations

import os
import socket
import time

from .errors import RuntimeFailure, ZooError

TUNER_ID, ORACLE_IP, ORACLE_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
CHIEF_TIMEOUT = "ZOO_CHIEF_TIMEOUT"


def configure(*, chief: bool = False, worker: bool = False, oracle: str | None = None,
              tuner_id: str | None = None) -> None:
    """Set keras-tuner's variables for this process from command-line style options."""
    if chief and worker:
        raise ZooError("choose --chief or --worker, not both")
    if not (chief or worker):
        if oracle or tuner_id:
            raise ZooError("--oracle and --tuner-id need --chief or --worker")
        return
    address = oracle or (f"{os.environ.get(ORACLE_IP, '')}:{os.environ.get(ORACLE_PORT, '')}"
                         if ORACLE_IP in os.environ else None)
    if not address:
        raise ZooError(f"{'--chief' if chief else '--worker'} needs --oracle HOST:PORT "
                       f"(or {ORACLE_IP} and {ORACLE_PORT})")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ZooError(f"--oracle expects HOST:PORT, got {address!r}")
    os.environ[ORACLE_IP], os.environ[ORACLE_PORT] = host, port
    if chief:
        if tuner_id:
            raise ZooError("--tuner-id names a worker; the chief's id is always 'chief'")
        os.environ[TUNER_ID] = "chief"
    else:
        name = tuner_id or os.environ.get(TUNER_ID) or f"worker-{socket.gethostname()}-{os.getpid()}"
        if "chief" in name:
            raise ZooError(f"a worker's tuner id may not contain 'chief', got {name!r}")
        os.environ[TUNER_ID] = name


def is_worker() -> bool:
    """True in a worker process of a distributed search."""
    return ORACLE_IP in os.environ and "chief" not in os.environ.get(TUNER_ID, "chief")


def wait_for_chief(timeout: float | None = None, poll: float = 0.2) -> None:
    """Block until the chief's oracle accepts connections; a :class:`ZooError` after ``timeout``
    seconds (default: ``ZOO_CHIEF_TIMEOUT``, else 600)."""
    host, port = os.environ[ORACLE_IP], int(os.environ[ORACLE_PORT])
    if host in ("0.0.0.0", "::", "[::]"):  # the chief's "every interface" address: reach it locally
        host = "127.0.0.1"
    host = host.strip("[]")
    if timeout is None:
        try:
            timeout = float(os.environ.get(CHIEF_TIMEOUT, 600))
        except ValueError:
            raise ZooError(f"{CHIEF_TIMEOUT} must be a number of seconds, got "
                           f"{os.environ[CHIEF_TIMEOUT]!r}") from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(0.1, min(5.0, timeout))):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise RuntimeFailure(f"no chief answers at {host}:{port} after {timeout:g} s ({exc.strerror or exc}); "
                               "start it with zoo tune ... --chief --oracle HOST:PORT, or set "
                               f"{CHIEF_TIMEOUT} to wait longer") from None
            time.sleep(poll)
