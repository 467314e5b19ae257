"""Atomic writes: complete or absent, with ordinary permissions."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from azaudit.errors import InputError
from azaudit.files import check_output_dir, replace_report_set, write_all_atomic, write_atomic


def test_writes_complete_file_with_umask_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "sub" / "report.html", b"<html>")
    finally:
        os.umask(previous)
    target = tmp_path / "sub" / "report.html"
    assert target.read_bytes() == b"<html>"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "x.json", "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_several_files_are_written_all_or_none(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_bytes(b"old report")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(OSError):
        write_all_atomic(
            {
                tmp_path / "report.html": b"new report",
                tmp_path / "results.json": b"{}",
                blocker / "snapshot.json.gz": b"...",
            }
        )
    assert (tmp_path / "report.html").read_bytes() == b"old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir", "report.html"]


def test_a_directory_in_a_target_place_replaces_nothing(tmp_path: Path) -> None:
    (tmp_path / "results.json").mkdir()
    with pytest.raises(IsADirectoryError):
        write_all_atomic({tmp_path / "report.html": b"<html>", tmp_path / "results.json": b"{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("file", "exists and is not a directory"),
        ("file/sub/out", "cannot create it, "),
    ],
)
def test_output_dir_problems_are_named_before_any_work(
    tmp_path: Path, relative: str, message: str
) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / relative
    with pytest.raises(InputError) as excinfo:
        check_output_dir("--out", target)
    assert str(excinfo.value).startswith(f"--out {target}: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# -- the report set: all or none, stale files removed -------------------------------------------

OWNED = ("report.html", "results.json", "snapshot.json.gz")


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_report_set_replaces_old_files_removes_stale_ones_and_keeps_foreign_files(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_bytes(b"old report")
    (out / "results.json").write_bytes(b"old results")
    (out / "snapshot.json.gz").write_bytes(b"old snapshot")
    (out / "notes.txt").write_bytes(b"mine")
    stale = replace_report_set(out, {"results.json": b"new results"}, OWNED)
    assert stale == ("report.html", "snapshot.json.gz")
    assert _tree(out) == {"notes.txt": b"mine", "results.json": b"new results"}


def test_kept_files_are_not_stale(tmp_path: Path) -> None:
    (tmp_path / "snapshot.json.gz").write_bytes(b"this scan's snapshot")
    stale = replace_report_set(tmp_path, {"report.html": b"new"}, OWNED, keep=["snapshot.json.gz"])
    assert stale == ()
    assert _tree(tmp_path) == {"report.html": b"new", "snapshot.json.gz": b"this scan's snapshot"}


def test_a_failed_later_rename_restores_the_complete_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.html").write_bytes(b"old report")
    (tmp_path / "results.json").write_bytes(b"old results")
    (tmp_path / "snapshot.json.gz").write_bytes(b"old snapshot")
    real_replace = os.replace
    placed: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        # The kernel refuses the second rename of a new file into place (e.g. EIO, EDQUOT).
        if ".azaudit-new-" in str(src):
            placed.append(str(dst))
            if len(placed) == 2:
                raise OSError(errno.EIO, "Input/output error", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        replace_report_set(
            tmp_path, {"report.html": b"new report", "results.json": b"new results"}, OWNED
        )
    monkeypatch.undo()
    assert len(placed) == 2
    assert _tree(tmp_path) == {
        "report.html": b"old report",
        "results.json": b"old results",
        "snapshot.json.gz": b"old snapshot",
    }


def test_a_directory_in_a_report_place_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_bytes(b"old")
    (tmp_path / "results.json").mkdir()
    with pytest.raises(IsADirectoryError):
        replace_report_set(tmp_path, {"report.html": b"new", "results.json": b"{}"}, OWNED)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "results.json"]
    assert (tmp_path / "report.html").read_bytes() == b"old"


def test_a_directory_created_for_a_failed_set_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if str(dst).endswith("results.json"):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        replace_report_set(tmp_path / "new", {"report.html": b"a", "results.json": b"b"}, OWNED)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_report_set_files_have_umask_permissions(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        replace_report_set(tmp_path, {"report.html": b"x"}, OWNED)
    finally:
        os.umask(previous)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o640


def test_when_even_the_roll_back_fails_the_old_files_are_kept_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.html").write_bytes(b"old report")
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".azaudit-new-" in str(src) or ".azaudit-old-" in str(src):
            raise OSError(errno.EIO, "Input/output error", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError) as excinfo:
        replace_report_set(tmp_path, {"report.html": b"new"}, OWNED)
    monkeypatch.undo()
    (backup,) = tmp_path.glob(".azaudit-old-*")
    assert (backup / "report.html").read_bytes() == b"old report"
    assert str(excinfo.value.strerror).endswith(f"the previous reports are kept in {backup}")
    assert not list(tmp_path.glob(".azaudit-new-*"))
