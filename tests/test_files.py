"""Atomic writes: complete or absent, with ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from azaudit.errors import InputError
from azaudit.files import check_output_dir, write_all_atomic, write_atomic


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
