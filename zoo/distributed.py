"""Distributed tuning across processes or machines, with keras-tuner's chief/worker mode.

The chief runs the oracle (a gRPC server that hands out trials); each worker
asks it for a trial, trains it and reports back. All share one output folder.
keras-tuner reads three variables; ``zoo tune --chief`` / ``--worker --oracle
HOST:PORT`` set them, or set them yourself:

- ``KERASTUNER_TUNER_ID``: ``chief`` or a unique worker name;
- ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``: where the chief listens.
"""

from __future__ import annotations

import os
import socket

from .errors import ZooError

TUNER_ID, ORACLE_IP, ORACLE_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"


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
        os.environ[TUNER_ID] = "chief"
    else:
        name = tuner_id or os.environ.get(TUNER_ID) or f"worker-{socket.gethostname()}-{os.getpid()}"
        if "chief" in name:
            raise ZooError(f"a worker's tuner id may not contain 'chief', got {name!r}")
        os.environ[TUNER_ID] = name


def is_worker() -> bool:
    """True in a worker process of a distributed search."""
    return ORACLE_IP in os.environ and "chief" not in os.environ.get(TUNER_ID, "chief")
