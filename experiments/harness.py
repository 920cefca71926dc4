"""What every experiment script records beside its numbers: the machine, its load, and an atomic write.

New scripts import these instead of building their own record (older scripts still carry copies).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from typing import Any


def machine() -> dict[str, Any]:
    """The platform, CPU count, Python, Keras (and its backend) and the load average when it is called."""
    record: dict[str, Any] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                              "python": platform.python_version(), "load_average_1_5_15_min": os.getloadavg()}
    if "keras" in sys.modules:
        import keras

        record.update(keras=keras.__version__, backend=keras.backend.backend())
    return record


def write_result(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON to ``path`` atomically (a temporary file beside it, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    os.replace(temporary, path)
    print(f"wrote {path}", file=sys.stderr)


def sha256(path: str) -> str:
    """The SHA-256 of a file, as ``sha256sum`` prints it (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
