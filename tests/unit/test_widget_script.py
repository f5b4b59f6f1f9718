"""The widget script: small, dependency-free, and the theme extension ships the same file."""

from __future__ import annotations

import gzip
import re
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
