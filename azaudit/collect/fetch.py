"""Reading one ARM or Microsoft Graph document, following every page, or saying why not.

Every failure becomes a `FetchError` with a one-line reason, the HTTP status and the service's
error code; the collector turns it into a `CollectionGap` for exactly the scope it concerns.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

from azaudit.collect.pipeline import Answer, BlockedRequestError
from azaudit.models import JSON

MAX_PAGES = 10_000
"""A list longer than this many pages is treated as a paging loop."""
MAX_MESSAGE = 300

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)bearer(\s|%20|\+)+\S+")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_SECRETS: set[str] = set()
"""Tokens handed to this process (`remember_secret`): removed wherever they are echoed."""


class FetchError(Exception):
    """Data that could not be read, with what a `CollectionGap` records."""

    def __init__(
        self, reason: str, status_code: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.error_code = error_code


def remember_secret(value: str) -> None:
    """Redact `value` (an access token this process received) from every message from now on."""
    if len(value) >= 16:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """`text` with tokens removed, also when echoed percent-encoded (even byte by byte).

    Percent-encoded text is decoded first (up to three layers), so an encoded token cannot
    slip past the patterns; the message then reads decoded, which is also easier to follow.
    """
    for _ in range(3):
        if not _PERCENT.search(text):
            break
        text = unquote(text)
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return _BEARER.sub("Bearer [redacted]", _JWT.sub("[redacted]", text))


def clean(text: str) -> str:
    """One line, bounded, with anything shaped like a bearer token removed (`redact`)."""
    text = " ".join(redact(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def describe_status(status: int, code: str | None, message: str | None) -> str:
    """A reason sentence for an HTTP error answer."""
    label = f"HTTP {status}" + (f" {code}" if code else "")
    detail = f": {clean(message)}" if message else ""
    if status == 401:
        return f"not authenticated ({label}){detail}"
    if status == 403:
        return f"access denied ({label}){detail}"
    if status == 404:
        return f"not found ({label}){detail}"
    if status == 409 and code == "MissingSubscriptionRegistration":
        return f"resource provider not registered in the subscription ({label}){detail}"
    if status == 429:
        return f"throttled; retries exhausted ({label}){detail}"
    if status >= 500:
        return f"service error; retries exhausted ({label}){detail}"
    return f"request failed ({label}){detail}"


def error_from_response(response: Answer) -> FetchError:
    """The `FetchError` of an HTTP error answer (ARM and Graph share the `error` shape)."""
    code: str | None = None
    message: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
    elif isinstance(body, dict):  # ARM bodies without the wrapper also occur
        code = body.get("code") if isinstance(body.get("code"), str) else None
        message = body.get("message") if isinstance(body.get("message"), str) else None
    status = response.status_code
    return FetchError(describe_status(status, code, message), status, code)


def error_from_exception(exc: BaseException) -> FetchError:
    """The `FetchError` of an exception raised while sending or decoding."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, BlockedRequestError):
        return FetchError(clean(exc.message))
    if isinstance(exc, DecodeError):
        return FetchError("malformed JSON in the response body", 200, "MalformedJson")
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = getattr(exc.error, "code", None) if exc.error is not None else None
        message = getattr(exc.error, "message", None) if exc.error is not None else None
        return FetchError(
            describe_status(exc.status_code, code, message or None), exc.status_code, code
        )
    if isinstance(exc, ClientAuthenticationError):
        first = str(exc.message or exc).strip().splitlines()
        return FetchError(f"authentication failed: {clean(first[0] if first else '')}")
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return FetchError("timed out; retries exhausted")
    if isinstance(exc, ServiceResponseError):
        return FetchError(f"connection dropped; retries exhausted ({clean(str(exc.message))})")
    if isinstance(exc, ServiceRequestError):
        return FetchError(f"connection failed; retries exhausted ({clean(str(exc.message))})")
    if isinstance(exc, AzureError):
        return FetchError(f"request failed: {clean(str(exc.message))}")
    if isinstance(exc, asyncio.TimeoutError):
        return FetchError("timed out")
    if isinstance(exc, ValueError | TypeError | KeyError | AttributeError):
        return FetchError(f"malformed response ({type(exc).__name__}: {clean(str(exc))})")
    return FetchError(f"unexpected failure ({type(exc).__name__}: {clean(str(exc))})")


def json_object(response: Answer) -> dict[str, JSON]:
    """The JSON object of a successful answer; any other answer raises `FetchError`."""
    if response.status_code >= 400:
        raise error_from_response(response)
    if response.status_code != 200:
        raise FetchError(
            f"unexpected HTTP {response.status_code} answer to a read", response.status_code
        )
    try:
        body = json.loads(response.content)
    except ValueError:
        raise FetchError("malformed JSON in the response body", 200, "MalformedJson") from None
    if not isinstance(body, dict):
        raise FetchError("unexpected response: expected a JSON object", 200, "UnexpectedShape")
    return body


Getter = Callable[[str], Awaitable[Answer]]


async def get_document(get: Getter, url: str) -> dict[str, JSON]:
    """One document."""
    return json_object(await get(url))


async def get_list(
    get: Getter,
    url: str,
    next_key: str,
    next_url: Callable[[str], str] = lambda link: link,
    max_pages: int = MAX_PAGES,
) -> dict[str, JSON]:
    """Every page of a list, merged as `{"value": [...]}`.

    Pages continue while the body carries `next_key` (`nextLink` for ARM, `@odata.nextLink`
    for Graph); a short or empty page with a next link is not the end (RPC contract).
    """
    values: list[Any] = []
    seen: set[str] = set()
    for _ in range(max_pages):
        body = await get_document(get, url)
        page = body.get("value")
        if not isinstance(page, list):
            raise FetchError(
                "unexpected response: expected a 'value' array", 200, "UnexpectedShape"
            )
        values.extend(page)
        link = body.get(next_key)
        if not link:
            return {"value": values}
        if not isinstance(link, str):
            raise FetchError(f"unexpected response: {next_key} is not a string", 200)
        url = next_url(link)
        if url in seen:
            raise FetchError(f"paging did not terminate: {next_key} repeats a page", 200)
        seen.add(url)
    raise FetchError(f"paging did not terminate after {max_pages} pages", 200)


def arm_next_link(api_version: str) -> Callable[[str], str]:
    """Follow an ARM `nextLink` the way the generated SDKs do: its query, our api-version."""

    def build(link: str) -> str:
        parts = urlsplit(link)
        # Work on the raw query so the service's own encoding of its token is kept byte for byte.
        kept = [
            item
            for item in parts.query.split("&")
            if item and item.split("=", 1)[0].lower() != "api-version"
        ]
        kept.append(f"api-version={quote(api_version)}")
        return urlunsplit(parts._replace(query="&".join(kept)))

    return build
