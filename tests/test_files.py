"""Atomic writes: complete or absent, with ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from azaudit.files import write_atomic


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
