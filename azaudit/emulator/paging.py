"""Opaque continuation tokens and next links for ARM, Resource Graph and Graph lists.

A token carries the offset of the next page and a digest of what was listed, so a token from
one list presented to another is rejected instead of silently returning the wrong rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qsl, quote, urlencode

from azaudit.emulator.wire import Request


class BadSkipToken(ValueError):
    """A continuation token that this emulator did not issue for this list."""


def _digest(scope: str) -> str:
    return hashlib.sha256(scope.encode("utf-8")).hexdigest()[:12]


def make_token(offset: int, scope: str) -> str:
    """An opaque token for `offset` within the list identified by `scope`."""
    raw = json.dumps({"o": offset, "d": _digest(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def read_token(token: str, scope: str) -> int:
    """The offset inside `token`.

    Raises:
        BadSkipToken: when the token is not one of ours or belongs to another list.
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset = decoded["o"]
        digest = decoded["d"]
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise BadSkipToken(f"the continuation token {token!r} is not valid") from None
    if not isinstance(offset, int) or offset < 0 or digest != _digest(scope):
        raise BadSkipToken(f"the continuation token {token!r} does not belong to this list")
    return offset


def next_link(base_url: str, request: Request, token_param: str, token: str) -> str:
    """The absolute URL of the next page: the request's own query with the token replaced.

    ARM and Graph keep the caller's parameters (`api-version`, `$filter`, `$select`...) in the
    link; clients follow it verbatim (Graph) or only replace `api-version` (ARM SDKs).
    """
    pairs = [
        (name, value)
        for name, value in parse_qsl(request.query_string, keep_blank_values=True)
        if name.lower() not in {"$skiptoken", "$skip"}
    ]
    pairs.append((token_param, token))
    path = quote(request.path, safe="/-_.~()")
    return f"{base_url}{path}?{urlencode(pairs, quote_via=quote, safe='$,()=')}"
