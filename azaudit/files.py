"""Atomic file output: a report or snapshot is either complete on disk or absent."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import BinaryIO

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
            _ordinary_permissions(Path(tmp))
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


def _ordinary_permissions(path: Path) -> None:
    # mkstemp creates 0600; a report is an ordinary file: honour the umask as open() does.
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


FileContent = bytes | Callable[[BinaryIO], None]
"""A file's bytes, or a function that writes them into the open file (streaming renderers)."""


def replace_report_set(
    directory: Path,
    files: Mapping[str, FileContent],
    owned: Collection[str],
    keep: Collection[str] = (),
) -> tuple[str, ...]:
    """Make `directory` hold exactly this scan's report files, all of them or none.

    `files` maps file names to contents, or to writers that stream them (so that no report is
    held in memory whole; whatever a writer raises undoes the whole set like a failed rename).
    `owned` names every file a scan can write there; those not in `files` or `keep` are stale
    (left by an earlier scan) and are removed in the same step. Other files in the directory
    are never touched.

    Every new file is first written in full into a fresh staging directory inside `directory`;
    then each old file (new names and stale ones) is moved into a backup directory and each new
    file renamed into place. Should any rename fail, the new files are moved back out and the
    old ones restored, so the directory holds either the complete old set or the complete new
    one. A directory created here is removed again on failure.

    Returns:
        The stale file names that were removed, for the caller to warn about.

    Raises:
        OSError: when a file cannot be written or a target is a directory; nothing changed.
    """
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    stale = sorted(n for n in owned if n not in files and n not in keep)
    stale = [n for n in stale if os.path.lexists(directory / n)]
    stage = backup = None
    keep_backup = False
    moved: list[str] = []
    placed: list[str] = []
    try:
        for name in [*files, *stale]:
            target = directory / name
            if target.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a directory", str(target))
        stage = Path(tempfile.mkdtemp(dir=directory, prefix=".azaudit-new-"))
        for name, data in files.items():
            with (stage / name).open("wb") as handle:  # open() honours the umask
                if isinstance(data, bytes):
                    handle.write(data)
                else:
                    data(handle)  # a renderer streaming into the file
        backup = Path(tempfile.mkdtemp(dir=directory, prefix=".azaudit-old-"))
        for name in [*files, *stale]:
            if os.path.lexists(directory / name):
                (directory / name).replace(backup / name)
                moved.append(name)
        for name in files:
            (stage / name).replace(directory / name)
            placed.append(name)
    except BaseException:
        try:
            _roll_back(directory, stage, backup, placed, moved)
        except OSError as failed:
            # The old files are still in the backup directory: never delete them, say where.
            keep_backup = True
            raise OSError(
                failed.errno, f"{failed.strerror}; the previous reports are kept in {backup}"
            ) from None
        if created:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if backup is not None and not keep_backup:
            shutil.rmtree(backup, ignore_errors=True)
    return tuple(stale)


def _roll_back(
    directory: Path, stage: Path | None, backup: Path | None, placed: list[str], moved: list[str]
) -> None:
    """Undo a partial swap: new files out, old files back (best effort, newest first)."""
    for name in reversed(placed):
        if stage is not None:
            (directory / name).replace(stage / name)
    for name in reversed(moved):
        if backup is not None:
            (backup / name).replace(directory / name)


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
