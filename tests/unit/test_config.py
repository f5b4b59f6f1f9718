from __future__ import annotations

from pathlib import Path

import pytest

from cvo_plugin.config import ConfigError, Settings, normalize_database_url


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(environ={"CVO_INSTANCE_DIR": str(tmp_path), **env}, dotenv_path=None)


def test_embedded_defaults_in_development(tmp_path: Path) -> None:
    s = settings(tmp_path, CVO_ENV="development")
    assert s.database_url == f"sqlite:///{tmp_path / 'cvo.db'}"
    assert s.redis_url is None
    assert s.shopify_api_version == "2026-10"
    assert s.shopify_scopes == "read_orders,read_all_orders,read_customers,write_customers,read_products"
    assert s.app_url == "http://127.0.0.1:5000"
    assert not s.shopify_configured
    # A development token key is kept in the instance folder so tokens survive restarts.
    assert (tmp_path / "dev-token-encryption.key").read_text().strip() == s.token_encryption_key


def test_production_requires_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY and TOKEN_ENCRYPTION_KEY must be set"):
        settings(tmp_path)
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY must be set"):
        settings(tmp_path, SECRET_KEY="x")
    ok = settings(tmp_path, SECRET_KEY="x", TOKEN_ENCRYPTION_KEY="k")
    assert ok.is_production


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CVO_ENV must be one of"):
        settings(tmp_path, CVO_ENV="staging")


def test_precedence_dotenv_then_environment_then_overrides(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("CVO_ENV=development\nAPP_URL=https://from-dotenv.example\nREDIS_URL=redis://dotenv\n")
    s = Settings.from_env(
        overrides={"REDIS_URL": "redis://override"},
        environ={"APP_URL": "https://from-env.example/", "CVO_INSTANCE_DIR": str(tmp_path)},
        dotenv_path=dotenv,
    )
    assert s.env == "development"
    assert s.app_url == "https://from-env.example"
    assert s.redis_url == "redis://override"


def test_postgres_urls_are_normalized() -> None:
    assert normalize_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    s = settings(
        tmp_path, SECRET_KEY="supersecret", TOKEN_ENCRYPTION_KEY="tokkey", SHOPIFY_API_SECRET="shpss"
    )
    text = repr(s)
    assert "supersecret" not in text and "tokkey" not in text and "shpss" not in text
