"""The widget script: small, dependency-free, and the theme extension ships the same file."""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "cvo_plugin" / "static" / "widget" / "widget.js"
EXTENSION = ROOT / "extensions" / "cvo-widget"


def test_the_script_is_under_15_kb_gzipped_and_loads_nothing_else() -> None:
    source = SCRIPT.read_bytes()
    assert len(gzip.compress(source, 9)) < 15 * 1024
    text = source.decode()
    assert not re.search(r"\bimport\s*\(|\brequire\s*\(|createElement\(\s*['\"]script", text)
    assert "innerHTML" not in text  # products are written as text, never as markup


def test_the_theme_extension_ships_the_same_script() -> None:
    assert (EXTENSION / "assets" / "cvo-widget.js").read_bytes() == SCRIPT.read_bytes()


def _schema(block: str) -> dict[str, object]:
    text = (EXTENSION / "blocks" / block).read_text()
    return json.loads(text.split("{% schema %}", 1)[1].split("{% endschema %}", 1)[0])


def test_the_theme_extension_declares_an_app_block_and_an_app_embed_with_merchant_settings() -> None:
    config = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    assert config["type"] == "theme" and config["name"]
    block = _schema("frequently_bought_together.liquid")
    assert block["target"] == "section" and block["enabled_on"] == {"templates": ["product"]}
    embed = _schema("cart_addons.liquid")
    assert embed["target"] == "body"
    for schema in (block, embed):
        settings = {s["id"]: s for s in schema["settings"]}  # type: ignore[attr-defined]
        assert {"title", "items", "layout"} <= set(settings)
        assert settings["items"]["type"] == "range" and settings["items"]["max"] == 10
        assert {o["value"] for o in settings["layout"]["options"]} == {"list", "grid"}
    for name in ("frequently_bought_together.liquid", "cart_addons.liquid"):
        text = (EXTENSION / "blocks" / name).read_text()
        assert "{{ 'cvo-widget.js' | asset_url }}" in text and "/apps/cvo" in text
        assert "block.settings.title | escape" in text
