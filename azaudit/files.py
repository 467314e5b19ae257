"""Atomic file output: a report or snapshot is either complete on disk or absent."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from azaudit.errors import InputError


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers never see a half-written file."""
    write_all_atomic({path: data})


def write_all_atomic(files: Mapping[Path, bytes]) -> None:
    """Write several files so that either all of them are replaced or none is.

    Every file is first written in full to a temporary file beside its target; only when all
    of them are on disk are they renamed into place (a rename within a directory does not fail
    for want of space). A failure before that point leaves no file behind.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((Path(tmp), path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            # mkstemp creates 0600; a report is an ordinary file: honour the umask as open() does.
            umask = os.umask(0)
            os.umask(umask)
            Path(tmp).chmod(0o666 & ~umask)
        # The one way a rename can fail here is a directory in the target's place: check every
        # target before replacing any.
        for _, path in staged:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        for tmp_path, path in staged:
            tmp_path.replace(path)
    except BaseException:
        for tmp_path, _ in staged:
            tmp_path.unlink(missing_ok=True)
        raise


def check_output_dir(option: str, directory: Path) -> None:
    """Fail early, before any work, when `directory` cannot receive the output files.

    Nothing is created: the directory itself is made only when the files are written.

    Raises:
        InputError: naming the option, the directory and what is wrong with it.
    """
    if directory.exists():
        if not directory.is_dir():
            raise InputError(f"{option} {directory}: exists and is not a directory")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InputError(f"{option} {directory}: directory is not writable")
        return
    parent = directory.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {directory}: cannot create it, {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {directory}: cannot create it, {parent} is not writable")
