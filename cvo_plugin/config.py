"""Settings: one typed, frozen object built from the environment (and `.env`), then overrides."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

ENVIRONMENTS = ("production", "development", "testing")
DEFAULT_SCOPES = "read_orders,read_all_orders,read_customers,write_customers,read_products"
DEFAULT_API_VERSION = "2026-10"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and what to do."""


def _default_database_url(instance_dir: Path) -> str:
    return f"sqlite:///{instance_dir / 'cvo.db'}"


def normalize_database_url(url: str) -> str:
    """Accept Heroku-style `postgres://` URLs and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@dataclass(frozen=True)
class Settings:
    """Every setting of the app; see CONTRACT.md and the README's configuration table."""

    env: str = "production"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = field(default="", repr=False)
    token_encryption_key: str = field(default="", repr=False)
    app_url: str = "http://127.0.0.1:5000"
    shopify_api_key: str | None = None
    shopify_api_secret: str | None = field(default=None, repr=False)
    shopify_scopes: str = DEFAULT_SCOPES
    shopify_api_version: str = DEFAULT_API_VERSION
    shopify_admin_origin: str | None = None
    woocommerce_ca_bundle: str | None = None
    instance_dir: str = "instance"
    max_request_bytes: int = 2 * 1024 * 1024
    job_retry_intervals: tuple[int, ...] = (10, 60, 300)
    data_retention_days: int | None = None
    widget_rate_limit_ip: int = 600
    widget_rate_limit_shop: int = 120_000

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def shopify_configured(self) -> bool:
        return bool(self.shopify_api_key and self.shopify_api_secret)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        """Defaults, then `.env`, then the process environment, then `overrides` (upper-case names)."""
        merged: dict[str, Any] = {}
        if dotenv_path and Path(dotenv_path).is_file():
            merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        merged.update(os.environ if environ is None else environ)
        merged.update(overrides or {})

        def get(name: str) -> Any:
            value = merged.get(name)
            return None if value in (None, "") else value

        env = str(get("CVO_ENV") or "production").lower()
        if env not in ENVIRONMENTS:
            raise ConfigError(f"CVO_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")
        instance_dir = Path(get("CVO_INSTANCE_DIR") or Path.cwd() / "instance")
        database_url = normalize_database_url(str(get("DATABASE_URL") or _default_database_url(instance_dir)))
        secret_key = get("SECRET_KEY")
        token_key = get("TOKEN_ENCRYPTION_KEY")
        if env == "production":
            missing = [
                n for n, v in (("SECRET_KEY", secret_key), ("TOKEN_ENCRYPTION_KEY", token_key)) if not v
            ]
            if missing:
                raise ConfigError(
                    f"{' and '.join(missing)} must be set in production (CVO_ENV=production). "
                    'Generate a Fernet key with `python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"`, or set CVO_ENV=development for a local run.'
                )
        if not secret_key:
            # Development and testing only: a per-process secret (sessions end at restart).
            secret_key = secrets.token_hex(32)
        if not token_key:
            token_key = _development_token_key(instance_dir)
        return cls(
            env=env,
            database_url=database_url,
            redis_url=get("REDIS_URL"),
            secret_key=str(secret_key),
            token_encryption_key=str(token_key),
            app_url=str(get("APP_URL") or "http://127.0.0.1:5000").rstrip("/"),
            shopify_api_key=get("SHOPIFY_API_KEY"),
            shopify_api_secret=get("SHOPIFY_API_SECRET"),
            shopify_scopes=str(get("SHOPIFY_SCOPES") or DEFAULT_SCOPES),
            shopify_api_version=str(get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION),
            shopify_admin_origin=get("SHOPIFY_ADMIN_ORIGIN"),
            woocommerce_ca_bundle=get("WOOCOMMERCE_CA_BUNDLE"),
            instance_dir=str(instance_dir),
            max_request_bytes=int(get("MAX_REQUEST_BYTES") or 2 * 1024 * 1024),
            job_retry_intervals=_intervals(get("JOB_RETRY_INTERVALS")),
            data_retention_days=_retention_days(get("DATA_RETENTION_DAYS")),
            widget_rate_limit_ip=_positive_int("WIDGET_RATE_LIMIT_IP", get("WIDGET_RATE_LIMIT_IP"), 600),
            widget_rate_limit_shop=_positive_int(
                "WIDGET_RATE_LIMIT_SHOP", get("WIDGET_RATE_LIMIT_SHOP"), 120_000
            ),
        )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def _intervals(value: Any) -> tuple[int, ...]:
    """`JOB_RETRY_INTERVALS`: seconds before each retry of a failed job (`10,60,300`; `0` for none)."""
    if value is None:
        return (10, 60, 300)
    try:
        parts = tuple(int(p) for p in str(value).split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"JOB_RETRY_INTERVALS must be comma-separated seconds, not {value!r}.") from None
    if any(p < 0 for p in parts):
        raise ConfigError("JOB_RETRY_INTERVALS must not be negative.")
    return () if parts == (0,) else parts


def _retention_days(value: Any) -> int | None:
    """`DATA_RETENTION_DAYS`: keep raw personal data this many days (unset: keep it)."""
    if value is None:
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"DATA_RETENTION_DAYS must be a whole number of days, not {value!r}.") from None
    if days < 1:
        raise ConfigError("DATA_RETENTION_DAYS must be at least 1.")
    return days


def _positive_int(name: str, value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigError(f"{name} must be a whole number of requests per minute, at least 1, not {value!r}.")
    return number


def _development_token_key(instance_dir: Path) -> str:
    """Development/testing only: a Fernet key kept in the instance folder so tokens survive restarts."""
    from cryptography.fernet import Fernet

    path = instance_dir / "dev-token-encryption.key"
    if path.is_file():
        return path.read_text().strip()
    key = Fernet.generate_key().decode()
    try:
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
        path.chmod(0o600)
    except OSError:
        pass  # read-only working directory: the key lives for this process only
    return key
