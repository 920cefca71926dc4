"""The search folder: its files, resume checks, the lock, and the swap that replaces an old search."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import portalocker

from ..errors import RunDirError
from ..folders import (
    LOCK,
    MARKER,
    check_output_path,
    check_owned,
    read_json,
    read_marker,
)
from .config import TuneSettings

PROJECT = "search"  # keras-tuner's project folder inside a search
TRIAL_META = "zoo_trial.json"  # in each trial's folder: every attempt at it
SEARCH_FILES = ("tune_config.json", "search", "tensorboard", "trials.csv", "trials.json", "objective.png",
                "tuned_hyperparameters.json", "preset.json", "final", "final.partial", "final_fit.json", ".tmp-*",
                ".trials.csv.tmp",
                "objective.png.tmp.png", ".final.tmp-*", ".final.old-*")


OVERWRITE_SUFFIX = ".overwrite"


def check_search_folder(out: str, settings: TuneSettings, overwrite: bool) -> None:
    """Refuse a folder that is not zoo's own search, or a search with other settings (unless overwriting)."""
    filled = os.path.isdir(out) and bool(os.listdir(out))  # an empty folder is as good as none
    check_output_path(out, kind="search", overwrite=overwrite and filled, resumable=True, allowed_top=SEARCH_FILES)
    if not filled:
        return
    marker = read_marker(out)
    config_path = os.path.join(out, "tune_config.json")
    if marker is None and not os.path.exists(config_path):
        raise RunDirError(f"{out} exists and is not a zoo search (no tune_config.json, no .zoo.json marker); "
                          "choose another --out")
    check_owned(out, "search", SEARCH_FILES, action="resume or replace")
    if overwrite or not os.path.exists(config_path):
        return
    if not _holds_search(out, settings):
        raise RunDirError(f"{out} holds a search with other settings ({_search_differences(out, settings)}); "
                          "resume it with the same settings, choose another --out, or pass --overwrite")


def swap_in(working: str, out: str) -> None:
    """Put a finished overwrite search in place of the old one; the old one goes only then."""
    old = None
    if os.path.exists(out):
        check_owned(out, "search", SEARCH_FILES)  # again: files may have been added meanwhile
        parent, base = os.path.split(out)
        old = tempfile.mkdtemp(prefix=f".{base}.old-", dir=parent)  # a fresh name: never a folder of the user's
        os.rmdir(old)
        os.replace(out, old)
    os.replace(working, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _holds_search(folder: str, settings: TuneSettings) -> bool:
    """Whether ``folder``'s tune_config.json is a search with these settings."""
    path = os.path.join(folder, "tune_config.json")
    if not os.path.exists(path):
        return False
    previous = read_json(path, "search config")
    return isinstance(previous, dict) and previous.get("search") == json.loads(
        json.dumps(settings.search_key(), default=str))


def _search_differences(folder: str, settings: TuneSettings) -> str:
    """The settings by which ``folder``'s search differs from ``settings``: ``key: then, now``."""
    previous = read_json(os.path.join(folder, "tune_config.json"), "search config").get("search") or {}
    now = json.loads(json.dumps(settings.search_key(), default=str))
    default = {"precision": "float32"}  # left out of the key when it has its default
    then_, now_ = {**default, **previous}, {**default, **now}
    keys = [k for k in {**then_, **now_} if then_.get(k) != now_.get(k)]
    return ", ".join(f"{k}: {then_.get(k)!r} then, {now_.get(k)!r} now" for k in keys) or "unreadable"


def _lock_held(folder: str) -> bool | None:
    """Whether a process holds ``folder``'s lock now (None: no lock file there)."""
    try:
        f = open(os.path.join(folder, LOCK), "rb")
    except OSError:
        return None
    try:
        portalocker.lock(f, portalocker.LOCK_SH | portalocker.LOCK_NB)
    except portalocker.exceptions.LockException:
        return True
    finally:
        f.close()  # releases the probe's shared lock, if it got it
    return False


def chief_folder(out: str, overwrite: bool, settings: TuneSettings) -> str:
    """The folder a worker's chief runs in: ``OUT``, or ``OUT.overwrite`` when the chief
    replaces an earlier search. The chief holds its folder's lock while it serves trials."""
    side = out + OVERWRITE_SUFFIX
    if not overwrite or not os.path.isdir(side):
        return out
    if _lock_held(side):
        return side
    if _lock_held(out):  # the chief runs in OUT itself: there was nothing to replace
        return out
    # No lock to be seen from here (the chief on another machine's file system): the side
    # folder when it holds this very search (its chief wrote the config before listening).
    return side if _holds_search(side, settings) else out


def clear_other_overwrite(working: str, settings: TuneSettings) -> None:
    """An interrupted overwrite with the same settings is resumed; one with other settings is
    cleared. Runs under the folder's lock, so it never clears a search another process runs."""
    if not os.path.exists(os.path.join(working, "tune_config.json")) or _holds_search(working, settings):
        return
    check_owned(working, "search", SEARCH_FILES, action="replace")
    for name in os.listdir(working):
        if name not in (MARKER, LOCK):
            path = os.path.join(working, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
