"""SMTP settings from the environment (and, for everything but the password, a config file).

The password is read only from `AZAUDIT_SMTP_PASSWORD` (a pipeline secret): never from the
command line, where it would land in shell history and process listings, and never from a file
that may be committed. It is never printed: `SmtpSettings.__repr__` hides it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from azaudit.errors import InputError

ENV_PREFIX = "AZAUDIT_SMTP_"
ENV_PASSWORD = "AZAUDIT_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a secret
ENV_RECIPIENTS = "AZAUDIT_EMAIL_TO"

KEYS = ("host", "port", "user", "from", "starttls", "ssl", "ca_file", "timeout")
"""Setting names: `AZAUDIT_SMTP_<NAME>` in the environment, `<name>` in a config file."""

SUBMISSION_PORT = 587
IMPLICIT_TLS_PORT = 465
DEFAULT_TIMEOUT = 30.0

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class DeliveryConfigError(InputError):
    """A missing or invalid SMTP setting: one line naming the variable, exit code 2."""


class Security(enum.StrEnum):
    """How the connection to the SMTP server is protected."""

    STARTTLS = "starttls"
    """Plain connection upgraded with STARTTLS before anything else (port 587)."""
    TLS = "tls"
    """TLS from the first byte (implicit TLS, port 465)."""
    NONE = "none"
    """No encryption: only for a local relay, and never with a password."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to send; `password` is excluded from `repr` so it cannot leak into logs."""

    host: str
    port: int
    sender: str
    security: Security
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def address(self) -> str:
        """`host:port`, as messages name the server."""
        return f"{self.host}:{self.port}"


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise DeliveryConfigError(f"{name}: expected true or false, got {value!r}")


def _flag_of(values: Mapping[str, tuple[str, str]], key: str, default: bool) -> bool:
    if key not in values:
        return default
    raw, name = values[key]
    return _flag(name, raw)


def _merged(
    env: Mapping[str, str], file_values: Mapping[str, object]
) -> dict[str, tuple[str, str]]:
    """Each setting's value and the name it came from; the environment wins over the file."""
    unknown = sorted(set(file_values) - set(KEYS))
    if "password" in unknown:
        raise DeliveryConfigError(
            f"smtp.password: not read from a file; set {ENV_PASSWORD} (a pipeline secret)"
        )
    if unknown:
        raise DeliveryConfigError(
            f"smtp.{unknown[0]}: unknown setting (expected one of {', '.join(KEYS)})"
        )
    merged = {key: (str(value), f"smtp.{key}") for key, value in file_values.items()}
    for key in KEYS:
        name = ENV_PREFIX + key.upper()
        if env.get(name, "").strip():
            merged[key] = (env[name].strip(), name)
    return merged


def load_smtp_settings(
    env: Mapping[str, str], file_values: Mapping[str, object] | None = None
) -> SmtpSettings:
    """Settings from `AZAUDIT_SMTP_*` variables over the config file's `smtp` table.

    Raises:
        DeliveryConfigError: a required setting is missing or a value is invalid.
    """
    values = _merged(env, file_values or {})
    if "host" not in values:
        raise DeliveryConfigError(f"{ENV_PREFIX}HOST is not set: name the SMTP server to send with")
    host = values["host"][0]
    port = SUBMISSION_PORT
    if "port" in values:
        raw, name = values["port"]
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise DeliveryConfigError(f"{name}: expected a TCP port number, got {raw!r}")
        port = int(raw)
    implicit = _flag_of(values, "ssl", default=port == IMPLICIT_TLS_PORT)
    starttls = _flag_of(values, "starttls", default=not implicit)
    if implicit and starttls:
        raise DeliveryConfigError(
            f"{ENV_PREFIX}SSL and {ENV_PREFIX}STARTTLS are both true: choose implicit TLS "
            "(port 465) or STARTTLS (port 587)"
        )
    security = Security.TLS if implicit else Security.STARTTLS if starttls else Security.NONE
    user = values["user"][0] if "user" in values else None
    password = env.get(ENV_PASSWORD) or None
    if user and not password:
        raise DeliveryConfigError(f"{ENV_PREFIX}USER is set but {ENV_PASSWORD} is not")
    if password and not user:
        raise DeliveryConfigError(f"{ENV_PASSWORD} is set but {ENV_PREFIX}USER is not")
    if user and security is Security.NONE:
        raise DeliveryConfigError(
            f"{ENV_PREFIX}STARTTLS is false: refusing to send the SMTP password unencrypted"
        )
    sender = values["from"][0] if "from" in values else (user if user and "@" in user else "")
    if "@" not in sender:
        raise DeliveryConfigError(f"{ENV_PREFIX}FROM is not set: give the sender's address")
    ca_file = None
    if "ca_file" in values:
        raw, name = values["ca_file"]
        ca_file = Path(raw)
        if not ca_file.is_file():
            raise DeliveryConfigError(f"{name}: {raw} is not a readable PEM file")
    timeout = DEFAULT_TIMEOUT
    if "timeout" in values:
        raw, name = values["timeout"]
        try:
            timeout = float(raw)
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise DeliveryConfigError(f"{name}: expected a positive number of seconds, got {raw!r}")
    return SmtpSettings(
        host=host,
        port=port,
        sender=sender,
        security=security,
        user=user,
        password=password,
        ca_file=ca_file,
        timeout=timeout,
    )


def recipients_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """Default recipients from `AZAUDIT_EMAIL_TO` (comma-separated)."""
    return tuple(part.strip() for part in env.get(ENV_RECIPIENTS, "").split(",") if part.strip())
