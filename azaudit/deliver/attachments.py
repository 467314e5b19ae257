"""Which report files of an output directory go into the e-mail, within a size budget.

Mail servers reject large messages (base64 makes every attachment a third larger; Gmail stops
at 25 MB, many relays earlier), so files are taken in the order asked for until the budget is
spent; the rest are named in the e-mail as not attached, never silently dropped.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from azaudit.errors import InputError

DEFAULT_ATTACHMENTS = ("report.pdf", "report.html", "results.json")
"""Attached when present, in this order, unless the caller names the files."""

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
"""Raw bytes of all attachments together (about 20 MB once base64-encoded)."""

_TYPES = {".json": "application/json", ".sarif": "application/sarif+json", ".md": "text/markdown"}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to attach."""

    filename: str
    content: bytes
    mime_type: str

    @property
    def size_label(self) -> str:
        """The size as a reader wants it (`12 KB`, `3.4 MB`)."""
        return size_label(len(self.content))


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A report file that exists but was not attached, and why."""

    filename: str
    reason: str


def size_label(size: int) -> str:
    """`size` bytes in KB below a megabyte, else in MB with one decimal."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def mime_type(filename: str) -> str:
    """The attachment's MIME type from its extension."""
    suffix = Path(filename).suffix.lower()
    if suffix in _TYPES:
        return _TYPES[suffix]
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def collect_attachments(
    out_dir: Path,
    names: Sequence[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[tuple[Attachment, ...], tuple[LeftOut, ...]]:
    """Read the files to attach from `out_dir`.

    Args:
        out_dir: the scan's output directory.
        names: file names to attach, in order; every one must exist. None attaches whichever of
            `DEFAULT_ATTACHMENTS` exist.
        max_bytes: budget for all attachments together; files that would exceed it are left out.

    Raises:
        InputError: a named file is missing, is not a plain file name, or cannot be read.
    """
    explicit = names is not None
    chosen = list(names) if names is not None else list(DEFAULT_ATTACHMENTS)
    attached: list[Attachment] = []
    left_out: list[LeftOut] = []
    used = 0
    for name in dict.fromkeys(chosen):
        if Path(name).name != name or name in ("", ".", ".."):
            raise InputError(f"--attach {name}: give a file name inside {out_dir}, not a path")
        path = out_dir / name
        if not path.is_file():
            if explicit:
                raise InputError(f"--attach {name}: {path} does not exist")
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if used + len(content) > max_bytes:
            left_out.append(
                LeftOut(
                    name,
                    f"{size_label(len(content))}; over the {size_label(max_bytes)} attachment "
                    "limit, see the pipeline's artifacts",
                )
            )
            continue
        used += len(content)
        attached.append(Attachment(name, content, mime_type(name)))
    return tuple(attached), tuple(left_out)
