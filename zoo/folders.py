"""Folders zoo writes: marked as its own, checked before anything is touched, swapped in atomically.

Rules every verb follows (docs/run-directories.md, "Safety"):

- Every folder zoo creates (a run, an export, a search, a ``RUN.partial`` backup)
  holds a marker file, ``.zoo.json``, written first: kind, zoo version, a random id
  and, once the folder is complete, the list of files zoo wrote into it.
- Only a marked folder of the expected kind may be resumed, replaced or removed.
  An unmarked folder, or a marked one holding files zoo did not write, is refused
  with a message that names the folder and the foreign files.
- ``check_output_path`` runs before any data is read or any model is built: a path
  under a file, a path that is a file, a folder that cannot be written, all fail first.
- A complete folder is built beside its destination and renamed into place; an old
  folder is moved aside and deleted only after the new one is in place.
- ``folder_lock`` is an OS lock (``flock``): two processes never write the same
  folder, and a lock left by a killed process never blocks a resume.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import portalocker

from ._version import __version__
from .errors import RunDirError

MARKER = ".zoo.json"
LOCK = ".zoo.lock"
KINDS = ("run", "export", "search", "partial")


def write_json(path: str, data: Any) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_new_file(path: str, what: str, suffix: str = "") -> None:
    """A file zoo is asked to create: refused when it exists (zoo replaces no file it did not make),
    when its folder is missing, or when it lacks ``suffix``."""
    if suffix and not path.lower().endswith(suffix):
        raise RunDirError(f"{what} {path}: the file name must end in {suffix}")
    if os.path.lexists(path):
        raise RunDirError(f"{what} {path} exists; zoo does not replace files it did not make: "
                          "give a new file name or remove it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RunDirError(f"{what} {path}: the folder {folder} does not exist")


def read_json(path: str, what: str = "file") -> Any:
    """JSON from ``path``; a missing, unreadable or corrupt file is a :class:`RunDirError` naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise RunDirError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise RunDirError(f"{what} {path} is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise RunDirError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{what} {path} is corrupt: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from None
    except OSError as exc:
        raise RunDirError(f"cannot read {what} {path}: {exc.strerror}") from None


PREPROCESSING_SETTINGS = "preprocessing.json"


def write_settings(directory: str, settings: dict[str, Any]) -> None:
    """A preprocessor's settings as ``DIRECTORY/preprocessing.json``, atomically (the folder is made).
    Only JSON types: anything else raises TypeError rather than coming back as its string."""
    json.dumps(settings)
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, PREPROCESSING_SETTINGS), settings)


def read_settings(directory: str) -> dict[str, Any]:
    """What :func:`write_settings` wrote; missing or corrupt is a :class:`RunDirError` naming the file."""
    return read_json(os.path.join(directory, PREPROCESSING_SETTINGS), "preprocessing settings")


# ---------------------------------------------------------------------------
# Markers
# ---------------------------------------------------------------------------

def _version() -> str:
    return __version__


def write_marker(folder: str, kind: str, files: Iterable[str] | None = None, **extra: Any) -> dict[str, Any]:
    """Mark ``folder`` as zoo's own; ``files`` lists what zoo wrote (relative paths)."""
    assert kind in KINDS, kind
    previous = read_marker(folder) or {}
    marker = {"zoo": "keras-seq-zoo", "kind": kind, "version": _version(),
              "id": previous.get("id") or uuid.uuid4().hex,
              "created": previous.get("created")
              or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), **extra}
    if files is not None:
        marker["files"] = sorted(files)
    write_json(os.path.join(folder, MARKER), marker)
    return marker


def read_marker(folder: str) -> dict[str, Any] | None:
    """The marker of ``folder``, or None when it has none (or an unreadable one)."""
    try:
        with open(os.path.join(folder, MARKER), encoding="utf-8") as f:
            marker = json.load(f)
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("zoo") == "keras-seq-zoo" else None


def list_files(folder: str) -> list[str]:
    """Every file under ``folder`` as a relative path (the marker and lock excluded)."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            rel = os.path.relpath(os.path.join(root, name), folder)
            if rel not in (MARKER, LOCK):
                found.append(rel)
    return sorted(found)


def _foreign_files(folder: str, marker: dict[str, Any], allowed_top: Iterable[str] | None) -> list[str]:
    present = list_files(folder)
    if allowed_top is not None:
        import fnmatch

        patterns = list(allowed_top)
        return [f for f in present if not any(fnmatch.fnmatchcase(f.split(os.sep)[0], p) for p in patterns)]
    written = set(marker.get("files", []))
    return [f for f in present if f not in written]


def check_owned(folder: str, kind: str, allowed_top: Iterable[str] | None = None, action: str = "replace") -> None:
    """Refuse unless ``folder`` is zoo's own folder of ``kind`` holding only files zoo wrote.

    Runs and exports list their files in the marker; folders that grow (searches,
    backups) name the top-level entries zoo may write there (``allowed_top``, glob patterns).
    """
    if not os.path.isdir(folder):
        raise RunDirError(f"{folder} is a file, not a folder; refusing to {action} it")
    marker = read_marker(folder)
    if marker is None:
        names = sorted(os.listdir(folder))
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise RunDirError(f"{folder} was not written by zoo (no {MARKER} marker; it holds {shown or 'nothing'}); "
                          f"refusing to {action} it: choose another --out, or move the folder away yourself")
    if marker.get("kind") != kind:
        raise RunDirError(f"{folder} is a zoo {marker.get('kind')} folder, not a {kind}; refusing to {action} it")
    foreign = _foreign_files(folder, marker, allowed_top)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise RunDirError(f"{folder} holds files zoo did not write ({shown}); refusing to {action} it: "
                          "move them out first")


def remove_owned(folder: str, kind: str, allowed_top: Iterable[str] | None = None) -> None:
    """Delete ``folder`` after :func:`check_owned` passes."""
    check_owned(folder, kind, allowed_top, action="remove")
    shutil.rmtree(folder)


# ---------------------------------------------------------------------------
# Output paths
# ---------------------------------------------------------------------------

def check_output_path(path: str, *, kind: str, overwrite: bool, resumable: bool = False,
                      allowed_top: Iterable[str] | None = None) -> str:
    """Check that ``path`` may be written, before anything is read or trained; returns it absolute.

    An existing folder passes when ``overwrite`` and zoo owns it, or when
    ``resumable`` and it is zoo's own folder of ``kind`` (checked by the caller).
    """
    path = os.path.abspath(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise RunDirError(f"--out {path} exists and is a file, not a folder; choose another --out")
    ancestor = os.path.dirname(path)
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise RunDirError(f"--out {path} cannot be created: {ancestor} is a file, not a folder")
    try:  # a real probe: access() says yes to root even on read-only or virtual file systems
        with tempfile.TemporaryFile(dir=ancestor, prefix=".zoo-probe-"):
            pass
    except OSError as exc:
        raise RunDirError(f"--out {path} cannot be created: cannot write in {ancestor} ({exc.strerror})") from None
    if os.path.isdir(path):
        if overwrite:
            check_owned(path, kind, allowed_top)
        elif not resumable:
            raise RunDirError(f"{path} already exists; choose another --out or pass --overwrite")
    return path


def check_sibling(path: str, kind: str, allowed_top: Iterable[str] | None = None) -> None:
    """A sibling zoo will use (``RUN.partial``) must be absent or zoo's own."""
    if os.path.lexists(path):
        if not os.path.isdir(path):
            raise RunDirError(f"{path} exists and is a file; zoo keeps its backup there: move the file away")
        check_owned(path, kind, allowed_top, action="resume or replace")


@contextlib.contextmanager
def atomic_directory(path: str, kind: str, overwrite: bool = False) -> Iterator[str]:
    """Yield a temporary, marked folder; on success it replaces ``path`` in one rename.

    An existing ``path`` is kept unless ``overwrite`` and zoo owns it; then it is
    moved aside and deleted only after the new folder is in place. On any error
    (or a kill) the old folder stays exactly as it was.
    """
    path = check_output_path(path, kind=kind, overwrite=overwrite)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    try:
        write_marker(tmp, kind)
        yield tmp
        write_marker(tmp, kind, files=list_files(tmp))
        old = None
        if os.path.exists(path):
            check_owned(path, kind)  # again: the user may have added files meanwhile
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_temporaries(path: str, kind: str) -> list[str]:
    """Delete ``.NAME.tmp-*`` siblings of ``path`` that zoo marked as ``kind`` (left by a kill
    while the folder was being written). Call it while holding the folder's lock."""
    parent, base = os.path.split(os.path.abspath(path))
    removed = []
    for name in os.listdir(parent) if os.path.isdir(parent) else []:
        old = name.startswith(f".{base}.old-")
        if name.startswith(f".{base}.tmp-") or (old and os.path.isdir(path)):
            folder = os.path.join(parent, name)
            marker = read_marker(folder)
            if marker is not None and marker.get("kind") == kind:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


# ---------------------------------------------------------------------------
# Locks
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def folder_lock(folder: str, what: str = "folder") -> Iterator[None]:
    """Hold an exclusive OS lock on ``folder`` (a ``.zoo.lock`` file inside it).

    A second process gets a :class:`RunDirError` naming the holder's pid and host.
    The OS drops the lock when its process dies, so a killed run never blocks a resume.
    """
    # portalocker: flock on POSIX, LockFileEx on Windows; it never truncates the file, so the holder's
    # pid and host stay readable (where the OS lets a second process read a locked file).
    with open(os.path.join(folder, LOCK), "a+b") as f:
        try:
            portalocker.lock(f, portalocker.LOCK_EX | portalocker.LOCK_NB)
        except portalocker.exceptions.LockException:
            try:
                f.seek(0)
                holder = json.loads(f.read(4096).decode("utf-8") or "{}")
            except (OSError, ValueError):
                holder = {}
            raise RunDirError(f"{what} {folder} is in use by process {holder.get('pid', '?')} on "
                              f"{holder.get('host', '?')}; wait for it to finish or stop it") from None
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        f.flush()
        yield
