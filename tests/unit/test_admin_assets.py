"""The admin's assets come with the app: Chart.js vendored from npm as published, nothing from a
CDN at run time but Shopify's App Bridge."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "cvo_plugin" / "static" / "vendor" / "chartjs"
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"


def test_chartjs_is_the_published_file() -> None:
    note = (VENDOR / "SOURCE.md").read_text()
    expected = re.search(r"file sha256 \| `([0-9a-f]{64})`", note)
    assert expected is not None
    assert hashlib.sha256((VENDOR / "chart.umd.min.js").read_bytes()).hexdigest() == expected.group(1)
    assert "Chart.js v4.6.1" in (VENDOR / "chart.umd.min.js").read_text()[:200]
    assert "MIT License" in (VENDOR / "LICENSE.md").read_text()


def test_no_page_loads_anything_from_elsewhere() -> None:
    external = re.compile(r"""(?:src|href)\s*=\s*["'](https?:)?//|url\(\s*["']?(https?:)?//|@import""")
    files = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "cvo_plugin" / "static").glob("*.*")]
    assert any(p.name == "admin.js" for p in files)
    for path in files:
        text = path.read_text().replace(f'src="{APP_BRIDGE}"', "")
        assert not external.search(text), f"{path.relative_to(ROOT)} loads something from another host"
