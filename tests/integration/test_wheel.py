"""A wheel built from the repo carries the templates and migrations and runs outside the tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(dist.glob("cvo_plugin-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "cvo_templates/__init__.py" in names
    assert any(n.startswith("cvo_plugin/migrations/versions/0001") for n in names)
    assert "cvo_plugin/migrations/script.py.mako" in names
    assert not any(n.startswith("tests/") for n in names)

    # A fresh environment that sees the project's dependencies but not its source tree.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
    )
    python = venv / "bin" / "python"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL", "REDIS_URL")}
    env["CVO_ENV"] = "development"
    run = [str(python), "-c", "from cvo_plugin.cli import main; main()"]
    where = subprocess.run([str(python), "-c", "import cvo_plugin; print(cvo_plugin.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert str(site) in where.stdout and str(ROOT) not in where.stdout
    help_text = subprocess.run(
        [*run, "--help"], cwd=work, env=env, capture_output=True, text=True, check=True
    )
    assert "import-orders" in help_text.stdout
    subprocess.run([*run, "db", "upgrade"], cwd=work, env=env, check=True, capture_output=True)
    sample = ROOT / "tests" / "data" / "lines" / "small.csv"
    result = subprocess.run(
        [*run, "import-orders", "wheel-shop", str(sample), "--format", "lines-csv"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "5 orders" in result.stdout
    assert (work / "instance" / "cvo.db").is_file()
