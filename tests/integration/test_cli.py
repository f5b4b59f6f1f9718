"""The `cvo` command line against the test app."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from cvo_plugin.db import Database
from cvo_plugin.models import Order
from tests.conftest import DATA


def test_help_lists_the_commands(cli_runner) -> None:  # type: ignore[no-untyped-def]
    result = cli_runner(["--help"])
    assert result.exit_code == 0
    for command in ("db", "demo", "import-orders", "import-products", "worker"):
        assert command in result.output


def test_import_orders_reports_and_refuses(cli_runner, database: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli_runner(
        ["import-orders", "my-shop", str(DATA / "lines" / "small.csv"), "--format", "lines-csv"]
    )
    assert result.exit_code == 0, result.output
    assert "small.csv: 7 rows, 5 orders, 7 lines, 2 returned lines, 1 cancelled orders" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,customer_id,created_at,product_id,quantity,unit_price\n1,c,yesterday,p,1,1\n")
    result = cli_runner(["import-orders", "my-shop", str(bad), "--format", "lines-csv"])
    assert result.exit_code == 1
    assert "bad.csv, line 2: created_at 'yesterday' is not a date" in result.stderr
    assert "nothing of this file was imported" in result.stderr
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 5


def test_worker_needs_redis(cli_runner) -> None:  # type: ignore[no-untyped-def]
    result = cli_runner(["worker", "--burst"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.stderr


def test_sync_and_compute_explain_what_they_cannot_do(cli_runner) -> None:  # type: ignore[no-untyped-def]
    cli_runner(["import-orders", "file-shop", str(DATA / "lines" / "small.csv"), "--format", "lines-csv"])
    result = cli_runner(["sync", "file-shop"])
    assert result.exit_code == 1
    assert "its data comes from imported files" in result.stderr
    result = cli_runner(["sync", "no-such-shop"])
    assert result.exit_code == 1 and "no shop named 'no-such-shop'" in result.stderr
