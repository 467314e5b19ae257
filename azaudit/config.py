"""Scan settings from options, environment and a config file, merged into one `ScanRequest`.

Precedence, highest first: command-line option, environment variable (`AZAUDIT_*`), config file
(`--config FILE`, else `$AZAUDIT_CONFIG`, else `./azaudit.toml`, else `[tool.azaudit]` of
`./pyproject.toml`), built-in default. Every value remembers where it came from, so
`azaudit config show` can say it. Unknown keys and bad values stop the run with one line naming
the file (or variable) and key (docs/config.md).
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azaudit.check_params import invalid_account
from azaudit.collect.options import LiveOptions, LogFormat
from azaudit.errors import InputError
from azaudit.phi import parse_phi_scope
from azaudit.pipeline import DemoSource, LiveSource, ScanRequest, ScanSource, SnapshotSource
from azaudit.render import OutputFormat, Paper
from azaudit.result import FailOn

CONFIG_FILE = "azaudit.toml"
CONFIG_ENV = "AZAUDIT_CONFIG"


class Kind(enum.Enum):
    """How a setting's value is written in TOML and in the environment."""

    TEXT = "a string"
    PATH = "a path"
    FLAG = "true or false"
    INT = "an integer"
    NUMBER = "a number"
    TEXTS = "a list of strings"
    PATHS = "a list of paths"


@dataclass(frozen=True, slots=True)
class Setting:
    """One configurable scan option.

    Attributes:
        key: `table.name` in the config file.
        option: the `scan` option that sets it.
        kind: value type.
        default: the built-in default.
        choices: allowed values (for TEXT and TEXTS), empty for any.
        minimum: smallest allowed number (INT, NUMBER).
    """

    key: str
    option: str
    kind: Kind
    default: Any
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def env(self) -> str:
        """`AZAUDIT_<NAME>` for `scan.*`, `AZAUDIT_<TABLE>_<NAME>` for other tables."""
        table, name = self.key.split(".", 1)
        prefix = "" if table == "scan" else f"{table.upper()}_"
        return f"AZAUDIT_{prefix}{name.upper()}"


def _values(enumeration: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(str(member.value) for member in enumeration)


SETTINGS: tuple[Setting, ...] = (
    Setting("scan.demo", "--demo", Kind.FLAG, False),
    Setting("scan.snapshot", "--snapshot", Kind.PATH, None),
    Setting("scan.subscriptions", "--subscription", Kind.TEXTS, ()),
    Setting("scan.all_subscriptions", "--all-subscriptions", Kind.FLAG, False),
    Setting("scan.management_group", "--management-group", Kind.TEXT, None),
    Setting("scan.tenant", "--tenant", Kind.TEXT, None),
    Setting("scan.cloud", "--cloud", Kind.TEXT, "AzureCloud"),
    Setting("scan.concurrency", "--concurrency", Kind.INT, 256, minimum=1, maximum=256),
    Setting("scan.timeout", "--timeout", Kind.NUMBER, 1800.0, minimum=1.0),
    Setting("scan.log_format", "--log-format", Kind.TEXT, "auto", _values(LogFormat)),
    Setting("scan.out", "--out", Kind.PATH, Path("azaudit-report")),
    Setting("scan.formats", "--format", Kind.TEXTS, ("html", "json"), _values(OutputFormat)),
    Setting("scan.paper", "--paper", Kind.TEXT, "letter", _values(Paper)),
    Setting("scan.fail_on", "--fail-on", Kind.TEXT, "high", _values(FailOn)),
    Setting("scan.strict", "--strict", Kind.FLAG, False),
    Setting("scan.checks_dirs", "--checks-dir", Kind.PATHS, ()),
    Setting("scan.checks", "--check", Kind.TEXTS, ()),
    Setting("scan.baa_list", "--baa-list", Kind.PATH, None),
    Setting("scan.allowed_regions", "--allowed-regions", Kind.TEXTS, None),
    Setting("scan.break_glass_accounts", "--break-glass-account", Kind.TEXTS, ()),
    Setting("scan.waivers", "--waivers", Kind.PATH, None),
    Setting("scan.attestations", "--attestations", Kind.PATH, None),
    Setting("scan.history", "--history", Kind.TEXT, None),
    Setting("scan.email_to", "--email-to", Kind.TEXTS, ()),
    Setting("scan.web", "--web", Kind.FLAG, False),
    Setting("scan.web_urls", "--web-url", Kind.TEXTS, ()),
    Setting("scan.web_render", "--web-render", Kind.FLAG, False),
    Setting("scan.web_max_pages", "--web-max-pages", Kind.INT, 20, minimum=1, maximum=1000),
    Setting("phi.subscriptions", "--phi-subscription", Kind.TEXTS, ()),
    Setting("phi.resource_groups", "--phi-resource-group", Kind.TEXTS, ()),
    Setting("phi.tags", "--phi-tag", Kind.TEXTS, ()),
    # SMTP settings have no option (the password is read from AZAUDIT_SMTP_PASSWORD only).
    Setting("smtp.host", "", Kind.TEXT, None),
    Setting("smtp.port", "", Kind.INT, None, minimum=1, maximum=65535),
    Setting("smtp.user", "", Kind.TEXT, None),
    Setting("smtp.from", "", Kind.TEXT, None),
    Setting("smtp.starttls", "", Kind.FLAG, None),
    Setting("smtp.ssl", "", Kind.FLAG, None),
    Setting("smtp.ca_file", "", Kind.PATH, None),
    Setting("smtp.timeout", "", Kind.NUMBER, None, minimum=1.0),
)
BY_KEY = {s.key: s for s in SETTINGS}
SOURCE_KEYS = (
    "scan.demo",
    "scan.snapshot",
    "scan.subscriptions",
    "scan.all_subscriptions",
    "scan.management_group",
)
"""What to scan is chosen as a whole: a layer that names a source replaces lower layers' choice."""

DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Effective:
    """The merged settings: value and origin of every key."""

    values: Mapping[str, Any]
    origins: Mapping[str, str]
    file: Path | None

    def show(self) -> str:
        """Every setting as `key = value  # origin`, the text `azaudit config show` prints."""
        lines = [f"# config file: {self.file if self.file is not None else 'none'}"]
        for setting in SETTINGS:
            value = _toml(self.values[setting.key])
            lines.append(f"{setting.key} = {value}  # {self.origins[setting.key]}")
        return "\n".join(lines)


def _toml(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


# -- reading ------------------------------------------------------------------------------------


def find_config(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The config file in force: `--config`, `$AZAUDIT_CONFIG`, `./azaudit.toml`, pyproject."""
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    if (cwd / CONFIG_FILE).is_file():
        return cwd / CONFIG_FILE
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file() and "azaudit" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"--config {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"--config {path}: is a directory, expected a TOML file") from None
    except OSError as exc:
        raise InputError(f"--config {path}: cannot read: {exc.strerror or 'I/O error'}") from None
    except UnicodeDecodeError:
        raise InputError(f"--config {path}: not UTF-8 text, expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)"; keep only that position.
        position = str(exc).rsplit("(", 1)[-1].rstrip(")") if "(at line" in str(exc) else ""
        raise InputError(
            f"--config {path}: invalid TOML{' ' + position if position else ''}"
        ) from None


def file_settings(path: Path) -> dict[str, Any]:
    """The settings a config file sets, validated, paths resolved against its directory.

    Raises:
        InputError: `<file>: <key>: <what was expected>`.
    """
    document = _read_toml(path)
    if path.name == "pyproject.toml":
        tool = document.get("tool", {})
        document = tool.get("azaudit", {}) if isinstance(tool, dict) else {}
        prefix = "tool.azaudit."
    else:
        prefix = ""
    tables = sorted({s.key.split(".", 1)[0] for s in SETTINGS})
    found: dict[str, Any] = {}
    for table, body in document.items():
        if table not in tables or not isinstance(body, dict):
            raise InputError(
                f"{path}: {prefix}{table}: unknown key; expected the tables "
                + ", ".join(f"[{prefix}{t}]" for t in tables)
            )
        for name, raw in body.items():
            key = f"{table}.{name}"
            setting = BY_KEY.get(key)
            if setting is None:
                names = [s.key.split(".", 1)[1] for s in SETTINGS if s.key.startswith(table)]
                known = ", ".join(names)
                raise InputError(f"{path}: {prefix}{key}: unknown key; expected one of {known}")
            found[key] = _from_toml(setting, raw, f"{path}: {prefix}{key}", path.parent)
    return found


def _from_toml(setting: Setting, raw: Any, where: str, base: Path) -> Any:
    kind = setting.kind
    if kind is Kind.FLAG and isinstance(raw, bool):
        return raw
    if kind is Kind.INT and isinstance(raw, int) and not isinstance(raw, bool):
        return _bounded(setting, raw, where)
    if kind is Kind.NUMBER and isinstance(raw, int | float) and not isinstance(raw, bool):
        return _bounded(setting, float(raw), where)
    if kind in (Kind.TEXT, Kind.PATH) and isinstance(raw, str) and raw.strip():
        return base / raw if kind is Kind.PATH else _choice(setting, raw, where)
    texts = isinstance(raw, list) and all(isinstance(v, str) and v.strip() for v in raw)
    if kind in (Kind.TEXTS, Kind.PATHS) and texts:
        if kind is Kind.PATHS:
            return tuple(base / v for v in raw)
        return tuple(_choice(setting, v, where) for v in raw)
    raise InputError(f"{where}: expected {_expected(setting)}, got {_describe(raw)}")


def environment_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings `AZAUDIT_*` variables set (lists comma-separated, flags true/false).

    Raises:
        InputError: `<VARIABLE>: <what was expected>`.
    """
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or not raw.strip():
            continue
        found[setting.key] = _from_text(setting, raw.strip(), setting.env)
    return found


def _from_text(setting: Setting, raw: str, where: str) -> Any:
    kind = setting.kind
    if kind is Kind.FLAG:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes"):
            return True
        if lowered in ("0", "false", "no"):
            return False
    elif kind is Kind.INT:
        try:
            return _bounded(setting, int(raw), where)
        except ValueError:
            pass
    elif kind is Kind.NUMBER:
        try:
            return _bounded(setting, float(raw), where)
        except ValueError:
            pass
    elif kind is Kind.PATH:
        return Path(raw)
    elif kind is Kind.TEXT:
        return _choice(setting, raw, where)
    else:
        items = [v.strip() for v in raw.split(",") if v.strip()]
        if kind is Kind.PATHS:
            return tuple(Path(v) for v in items)
        return tuple(_choice(setting, v, where) for v in items)
    raise InputError(f"{where}: expected {_expected(setting)}, got {raw!r}")


def _bounded(setting: Setting, value: float, where: str) -> Any:
    if (setting.minimum is not None and value < setting.minimum) or (
        setting.maximum is not None and value > setting.maximum
    ):
        raise InputError(f"{where}: expected {_expected(setting)}, got {value!r}")
    return value


def _choice(setting: Setting, value: str, where: str) -> str:
    if setting.choices and value not in setting.choices:
        raise InputError(f"{where}: expected {_expected(setting)}, got {value!r}")
    return value


def _expected(setting: Setting) -> str:
    if setting.choices:
        one = "one of" if setting.kind is Kind.TEXT else "a list of"
        return f"{one} {', '.join(setting.choices)}"
    text = setting.kind.value
    if setting.minimum is not None and setting.maximum is not None:
        return f"{text} from {setting.minimum:g} to {setting.maximum:g}"
    if setting.minimum is not None:
        return f"{text} of at least {setting.minimum:g}"
    return text


def _describe(raw: Any) -> str:
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list):
        return "a list with a non-string or empty item" if raw else "an empty list"
    if isinstance(raw, str):
        return "an empty string" if not raw.strip() else repr(raw)
    return repr(raw)


# -- merging ------------------------------------------------------------------------------------


def merge(
    options: Mapping[str, Any],
    environ: Mapping[str, str],
    config: Path | None,
    cwd: Path,
) -> Effective:
    """Merge option values (only those given on the command line), environment and file."""
    path = find_config(config, environ, cwd)
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("option", options),
        ("environment", environment_settings(environ)),
    ]
    if path is not None:
        layers.append((f"file {path}", file_settings(path)))
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    source_layer = next(
        (i for i, (_, found) in enumerate(layers) if any(k in found for k in SOURCE_KEYS)), None
    )
    for setting in SETTINGS:
        values[setting.key] = setting.default
        origins[setting.key] = DEFAULT
        for i, (label, found) in enumerate(layers):
            if setting.key in SOURCE_KEYS and i != source_layer:
                continue
            if setting.key in found:
                values[setting.key] = found[setting.key]
                origins[setting.key] = _origin(label, setting)
                break
    return Effective(values, origins, path)


def _origin(label: str, setting: Setting) -> str:
    if label == "option" and setting.option:
        return f"option {setting.option}"
    if label == "environment":
        return f"environment {setting.env}"
    return label


# -- the request --------------------------------------------------------------------------------


def to_request(effective: Effective) -> ScanRequest:
    """The `ScanRequest` the merged settings describe.

    Raises:
        InputError: no source or more than one, or a malformed PHI scope.
    """
    v = effective.values
    return ScanRequest(
        source=_source(v),
        out=v["scan.out"],
        formats=tuple(OutputFormat(f) for f in v["scan.formats"]),
        fail_on=FailOn(v["scan.fail_on"]),
        strict=v["scan.strict"],
        checks_dirs=tuple(v["scan.checks_dirs"]),
        only_checks=tuple(v["scan.checks"]),
        baa_list=v["scan.baa_list"],
        allowed_regions=v["scan.allowed_regions"],
        break_glass_accounts=_break_glass(effective),
        phi=parse_phi_scope(v["phi.subscriptions"], v["phi.resource_groups"], v["phi.tags"]),
        waivers=v["scan.waivers"],
        attestations=v["scan.attestations"],
        history=v["scan.history"],
        email_to=tuple(v["scan.email_to"]),
        smtp=_smtp(v),
        web=v["scan.web"],
        web_urls=tuple(v["scan.web_urls"]),
        web_render=v["scan.web_render"],
        web_max_pages=int(v["scan.web_max_pages"]),
        paper=Paper(v["scan.paper"]),
    )


def _break_glass(effective: Effective) -> tuple[str, ...]:
    """The declared break-glass accounts: object ids (GUIDs) or user principal names.

    Raises:
        InputError: `<where>: scan.break_glass_accounts: ...` naming the bad entry.
    """
    key = "scan.break_glass_accounts"
    values = tuple(effective.values[key])
    for value in values:
        if invalid_account(value):
            origin = effective.origins[key].removeprefix("file ").removeprefix("option ")
            origin = origin.removeprefix("environment ")
            raise InputError(
                f"{origin}: {key}: expected object ids (GUIDs) or user principal names "
                f"(name@domain), got {value!r}"
            )
    return values


def _smtp(v: Mapping[str, Any]) -> dict[str, str]:
    """The `[smtp]` values that are set, as the mail settings read them (text)."""
    found: dict[str, str] = {}
    for setting in SETTINGS:
        table, name = setting.key.split(".", 1)
        value = v[setting.key]
        if table != "smtp" or value is None:
            continue
        found[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return found


def _source(v: Mapping[str, Any]) -> ScanSource:
    live = bool(v["scan.subscriptions"] or v["scan.all_subscriptions"]) or (
        v["scan.management_group"] is not None
    )
    chosen = [
        name
        for name, on in (
            ("--demo", v["scan.demo"]),
            ("--snapshot", v["scan.snapshot"] is not None),
            ("--subscription/--all-subscriptions/--management-group", live),
        )
        if on
    ]
    if len(chosen) != 1:
        raise InputError(
            "choose exactly one of --demo, --snapshot FILE, or --subscription/"
            "--all-subscriptions/--management-group"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    if v["scan.demo"]:
        return DemoSource()
    if v["scan.snapshot"] is not None:
        return SnapshotSource(v["scan.snapshot"])
    options = LiveOptions(
        subscriptions=tuple(v["scan.subscriptions"]),
        all_subscriptions=v["scan.all_subscriptions"],
        management_group=v["scan.management_group"],
        tenant=v["scan.tenant"],
        cloud=v["scan.cloud"],
        concurrency=int(v["scan.concurrency"]),
        timeout=float(v["scan.timeout"]),
    )
    return LiveSource(options, LogFormat(v["scan.log_format"]))


def split_commas(values: Iterable[str]) -> tuple[str, ...]:
    """`a,b` and repeated options alike, as one tuple (empty items dropped)."""
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def current_environment() -> Mapping[str, str]:
    """The process environment (a seam for embedders; tests pass their own mapping)."""
    return os.environ
