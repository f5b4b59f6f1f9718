"""`cvo compute` + `cvo report --json` on the demo store (the shape of CONTRACT.md), `cvo spend import`."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from sqlalchemy import select

from cvo_plugin.db import Database
from cvo_plugin.models import MarketingSpend
from cvo_plugin.services.demo import DEMO_SHOP, build_demo_store
from tests.conftest import table_snapshot

MONEY = re.compile(r"^\d+\.\d{2}$")
CONTRACT_SEGMENT = {
    "name",
    "customers",
    "share_customers",
    "revenue",
    "share_revenue",
    "aov",
    "orders_per_customer",
    "avg_clv",
}


def test_compute_then_report_on_the_demo_store(cli_runner, database: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_demo_store(database, tmp_path / "demo", customers=300, end=date(2025, 6, 30))
    spend = tmp_path / "spend.csv"
    # Months before the demo store opened (the demo brings its own spend for its two years).
    spend.write_text("channel,month,amount\nGoogle,2021-01,400.00\nfacebook,2021-01,250\nFB,2021-02,300.50\n")
    result = cli_runner(["spend", "import", DEMO_SHOP, str(spend)])
    assert result.exit_code == 0, result.output
    assert "3 rows, 3 channel-months (3 new, 0 replaced), total 950.50" in result.output

    result = cli_runner(["report", DEMO_SHOP, "--json"])
    assert result.exit_code == 1 and "cvo compute demo-coffee.example" in result.stderr

    result = cli_runner(["compute", DEMO_SHOP, "--as-of", "2025-06-30"])
    assert result.exit_code == 0, result.output
    assert "RFM segments, CLV, channels and offers: finished" in result.output

    result = cli_runner(["report", DEMO_SHOP, "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"shop", "as_of", "currency", "customers", "segments", "clv_model"} <= set(report)
    assert "rfm" not in report
    assert (report["shop"], report["as_of"], report["currency"]) == (DEMO_SHOP, "2025-06-30", "USD")
    assert 250 <= report["customers"] <= 300
    assert [s["name"] for s in report["segments"]][:3] == [
        "Champions",
        "Loyal Customers",
        "Potential Loyalists",
    ]
    assert sum(s["customers"] for s in report["segments"]) == report["customers"]
    assert abs(sum(s["share_customers"] for s in report["segments"]) - 1) < 1e-3
    assert abs(sum(s["share_revenue"] for s in report["segments"]) - 1) < 1e-3
    for segment in report["segments"]:
        assert CONTRACT_SEGMENT <= set(segment)
        assert MONEY.match(segment["revenue"])
        assert isinstance(segment["customers"], int) and isinstance(segment["share_customers"], float)
        if segment["customers"]:
            assert MONEY.match(segment["aov"]) and MONEY.match(segment["avg_clv"])
            assert isinstance(segment["orders_per_customer"], float)
    model = report["clv_model"]
    assert model["time_unit"] == "weeks"
    assert {"r", "alpha", "a", "b"} <= set(model["bgnbd"]) and {"p", "q", "v"} <= set(model["gamma_gamma"])
    assert all(
        isinstance(model["bgnbd"][k], float) and model["bgnbd"][k] > 0 for k in ("r", "alpha", "a", "b")
    )

    result = cli_runner(["report", DEMO_SHOP, "--json", "--customers"])
    rows = json.loads(result.stdout)["rfm"]
    assert len(rows) == report["customers"]
    names = {s["name"] for s in report["segments"]}
    for row in rows[:50]:
        assert re.match(r"^C\d{5}$", row["customer_id"])
        assert all(1 <= row[k] <= 5 for k in ("r", "f", "m")) and row["segment"] in names
        assert MONEY.match(row["predicted_clv_12m"]) and 0 <= row["p_alive"] <= 1

    table = cli_runner(["report", DEMO_SHOP])
    assert table.exit_code == 0
    assert "Champions" in table.output and "BG/NBD (weeks): r=" in table.output


def test_spend_import_is_atomic_and_idempotent(cli_runner, database: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_runner(
        [
            "import-orders",
            "spend-shop",
            str(Path(__file__).parents[1] / "data" / "lines" / "small.csv"),
            "--format",
            "lines-csv",
        ]
    )
    good = tmp_path / "spend.csv"
    good.write_text("channel,month,amount\ngoogle,2024-03,100\ngoogle,2024-03,20.5\nemail,2024-04,0\n")
    assert cli_runner(["spend", "import", "spend-shop", str(good)]).exit_code == 0
    before = table_snapshot(database)
    again = cli_runner(["spend", "import", "spend-shop", str(good)])
    assert "(0 new, 0 replaced), total 120.50" in again.output
    assert table_snapshot(database)["marketing_spend"] == before["marketing_spend"]

    for body, message in [
        ("channel,month,amount\nmeta,2024-05,10\ngoogle,2024-13,5\n", "spend.csv, line 3: month '2024-13'"),
        ("channel,month,amount\ngoogle,2024-05,-3\n", "line 2: amount '-3' is negative"),
        ("channel,month,amount\n,2024-05,3\n", "line 2: channel is empty"),
        ("channel,month,amount\ngoogle,May 2024,3\n", "is not a month like 2024-03"),
        ("channel,month\ngoogle,2024-05\n", "missing required column(s): amount"),
        ("channel,month,amount\ngoogle,2024-05,ten\n", "amount 'ten' is not a number"),
        ("channel,month,amount\n", "no rows"),
    ]:
        bad = tmp_path / "spend.csv"
        bad.write_text(body)
        result = cli_runner(["spend", "import", "spend-shop", str(bad)])
        assert result.exit_code == 1 and message in result.stderr, (body, result.stderr)
        assert "nothing was imported" in result.stderr
    assert table_snapshot(database) == before
    with database.session() as session:
        stored = {
            (s.channel, s.month.isoformat(), str(s.amount)) for s in session.scalars(select(MarketingSpend))
        }
    assert stored == {("google", "2024-03-01", "120.50"), ("email", "2024-04-01", "0.00")}
    assert cli_runner(["spend", "import", "no-such-shop", str(good)]).exit_code == 1
