"""The dependency direction of STYLE.md, checked on the source's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_analytics_imports_only_numpy_scipy_and_the_stdlib() -> None:
    allowed = {"numpy", "scipy", "cvo_plugin"} | set(sys.stdlib_module_names)
    for path in files("cvo_plugin/analytics"):
        for module in imports_of(path):
            top = module.split(".")[0]
            assert top in allowed, f"{path.relative_to(ROOT)} imports {module}"
            if top == "cvo_plugin":
                assert module.startswith("cvo_plugin.analytics"), f"{path.relative_to(ROOT)} imports {module}"


def test_core_below_the_web_layer_never_imports_flask() -> None:
    for folder in (
        "cvo_plugin/models",
        "cvo_plugin/services",
        "cvo_plugin/ingest",
        "cvo_plugin/imports",
        "cvo_plugin/analytics",
        "connectors",
        "jobs",
    ):
        for path in files(folder):
            for module in imports_of(path):
                assert module.split(".")[0] not in {"flask", "werkzeug"}, (
                    f"{path.relative_to(ROOT)} imports {module}"
                )


def test_nothing_imports_jobs_but_jobs() -> None:
    for folder in ("cvo_plugin", "connectors"):
        for path in files(folder):
            for module in imports_of(path):
                assert module.split(".")[0] != "jobs", f"{path.relative_to(ROOT)} imports {module}"


def test_connectors_use_only_the_neutral_core() -> None:
    allowed = ("cvo_plugin.config", "cvo_plugin.security", "cvo_plugin.records", "cvo_plugin.crypto")
    for path in files("connectors"):
        for module in imports_of(path):
            if module.split(".")[0] == "cvo_plugin":
                assert module.startswith(allowed), f"{path.relative_to(ROOT)} imports {module}"
