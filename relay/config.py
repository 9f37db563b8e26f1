"""Settings: command-line flag > environment variable > DATA_DIR/relay.toml > default."""
from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024


class ConfigError(Exception):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    host: str = "0.0.0.0"
    port: int = 4000
    public_url: str = ""
    secret_key: str = ""
    smtp_host: str = ""
    smtp_port: int = 0  # 0: the usual port of smtp_security (465 tls, 587 starttls, 25 none)
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_security: str = "starttls"  # starttls | tls | none
    bcrypt_rounds: int = 12
    threads: int = 8
    max_image_bytes: int = 2 * MB
    max_build_bytes: int = 500 * MB
    max_attachment_bytes: int = 5 * MB
    max_recording_bytes: int = 200 * MB
    max_bundle_bytes: int = 100 * MB
    ota_signing_key: str = ""  # PEM of an EC P-256 private key; generated into DATA_DIR when empty
    max_json_bytes: int = 1 * MB
    log_level: str = "INFO"
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def max_body_bytes(self) -> int:
        """What the HTTP server may buffer for one request: the largest upload plus slack."""
        return max(self.max_build_bytes, self.max_recording_bytes, self.max_attachment_bytes,
                   self.max_bundle_bytes) + MB

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)


SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}


def default_data_dir() -> Path:
    """`data/` next to the executable when frozen, else at the repository root."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent / "data"
    return Path(__file__).resolve().parent.parent / "data"


def _toml_value(toml: dict, name: str):
    """`smtp_host` lives in relay.toml as `[smtp] host`; the rest at the top level."""
    if name.startswith("smtp_"):
        return toml.get("smtp", {}).get(name[5:])
    return toml.get(name)


def _coerce(name: str, kind: type, raw):
    if raw is None:
        return None
    try:
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r} must be {kind.__name__}, got {raw!r}") from None


def _read_toml(data_dir: Path) -> dict:
    path = data_dir / "relay.toml"
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_config(flags: dict | None = None, env: dict | None = None) -> Config:
    """Build the Config; `flags` holds command-line values (None = not given)."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    data_dir = Path(flags.get("data_dir") or env.get("RELAY_DATA_DIR") or default_data_dir())
    toml = _read_toml(data_dir)
    values = {}
    for f in dataclasses.fields(Config):
        if f.name in ("data_dir", "extra"):
            continue
        kind = int if f.type in ("int", int) else str
        for source in (flags.get(f.name), env.get("RELAY_" + f.name.upper()), _toml_value(toml, f.name)):
            value = _coerce(f.name, kind, source)
            if value is not None:
                values[f.name] = value
                break
    if not values.get("smtp_port"):
        values["smtp_port"] = SMTP_PORTS.get(values.get("smtp_security", "starttls"), 587)
    config = Config(data_dir=data_dir.resolve(), **values)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port must be 0-65535, got {config.port}")
    if config.smtp_security not in SMTP_SECURITY:
        raise ConfigError(f"smtp security must be one of {', '.join(SMTP_SECURITY)}")
    if not 4 <= config.bcrypt_rounds <= 16:
        raise ConfigError("bcrypt_rounds must be 4-16")
    if config.threads < 1:
        raise ConfigError("threads must be at least 1")
    if config.public_url and not config.public_url.startswith(("http://", "https://")):
        raise ConfigError("public_url must start with http:// or https://")
