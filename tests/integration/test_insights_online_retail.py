"""Real data: the Online Retail sample through `cvo import-orders`, `cvo compute` and `cvo report
--json`, checked against a plain pandas computation of the same definitions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DATA
from tests.reference import reference_scores

SOURCE = DATA / "online_retail" / "or_random_sample_gulertan.csv"
AS_OF = "2011-12-09"
MARGIN = 0.5  # no catalogue costs in this data: the default margin


def to_lines_csv(target: Path) -> pd.DataFrame:
    """The sample as `lines-csv` (credit notes `C...` are orders of returned lines)."""
    raw = pd.read_csv(SOURCE, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": "Int64"})
    lines = pd.DataFrame(
        {
            "order_id": raw.InvoiceNo,
            "customer_id": raw.CustomerID.astype("string").fillna(""),
            "created_at": raw.InvoiceDate.str.replace(" ", "T"),
            "product_id": raw.StockCode,
            "product_title": raw.Description.fillna(""),
            "quantity": raw.Quantity,
            "unit_price": raw.UnitPrice.map(lambda v: f"{v:.2f}"),
            "country": raw.Country,
            "currency": "GBP",
        }
    )
    lines.to_csv(target, index=False)
    return raw


def reference(raw: pd.DataFrame) -> pd.DataFrame:
    """Per customer: completed orders, net revenue, first and last order day (UTC)."""
    raw = raw.assign(
        gross=np.where(raw.Quantity > 0, raw.Quantity * raw.UnitPrice, 0.0),
        refund=np.where(raw.Quantity < 0, -raw.Quantity * raw.UnitPrice, 0.0),
        day=pd.to_datetime(raw.InvoiceDate).dt.floor("D"),
    )
    orders = raw.groupby("InvoiceNo").agg(
        customer=("CustomerID", "first"), gross=("gross", "sum"), refund=("refund", "sum"), day=("day", "min")
    )
    orders["net"] = (orders.gross - orders.refund).clip(lower=0).round(2)
    done = orders[(orders.net > 0) & orders.customer.notna()]
    customers = done.groupby("customer").agg(
        orders=("net", "size"), revenue=("net", "sum"), first=("day", "min"), last=("day", "max")
    )
    customers["recency"] = (pd.Timestamp(AS_OF) - customers["last"]).dt.days
    customers["span"] = (customers["last"] - customers["first"]).dt.days
    return customers


def same(got: object, expected: object) -> None:
    """Equal sequences (a short message instead of a diff of thousands of items)."""
    a, b = np.asarray(got), np.asarray(expected)
    assert a.shape == b.shape and np.array_equal(a, b), f"{int((a != b).sum())} of {len(b)} differ"


@pytest.mark.slow
def test_report_matches_pandas(cli_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "online_retail_lines.csv"
    raw = to_lines_csv(source)
    result = cli_runner(["import-orders", "online-retail", str(source), "--format", "lines-csv"])
    assert result.exit_code == 0, result.output
    result = cli_runner(["compute", "online-retail", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    result = cli_runner(["report", "online-retail", "--json", "--customers"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)

    expected = reference(raw)
    assert report["as_of"] == AS_OF and report["currency"] == "GBP"
    assert report["customers"] == len(expected)
    assert report["orders"] == int(expected.orders.sum())
    assert float(report["revenue"]) == pytest.approx(expected.revenue.sum(), abs=0.01)

    # every customer's scores follow the rule (reference implementation, block by block)
    rows = (
        pd.DataFrame(report["rfm"]).assign(customer=lambda d: d.customer_id.astype(int)).set_index("customer")
    )
    rows = rows.loc[expected.index]
    same(rows.frequency, expected.orders)
    same(rows.recency_days, expected.recency)
    assert np.abs(rows.monetary.astype(float) - expected.revenue).max() < 0.005
    same(rows.r, reference_scores(expected.recency.astype(float).tolist(), 5, higher_is_better=False))
    same(rows.f, reference_scores(expected.orders.astype(float).tolist(), 5))
    same(rows.m, reference_scores(expected.revenue.round(2).tolist(), 5))

    # the segment figures, from the customers' segments
    expected["segment"] = rows.segment
    total_revenue = expected.revenue.sum()
    for segment in report["segments"]:
        group = expected[expected.segment == segment["name"]]
        assert segment["customers"] == len(group), segment["name"]
        assert segment["share_customers"] == pytest.approx(len(group) / len(expected), abs=1e-4)
        assert float(segment["revenue"]) == pytest.approx(group.revenue.sum(), abs=0.01)
        assert segment["share_revenue"] == pytest.approx(group.revenue.sum() / total_revenue, abs=1e-4)
        if len(group) == 0:
            assert segment["aov"] is None
            continue
        assert float(segment["aov"]) == pytest.approx(group.revenue.sum() / group.orders.sum(), abs=0.01)
        assert segment["orders_per_customer"] == pytest.approx(group.orders.mean(), abs=0.01)
        repeat = group[group.orders > 1]
        if len(repeat):
            gap = repeat.span.sum() / (repeat.orders - 1).sum()
            assert segment["days_between_orders"] == pytest.approx(gap, abs=0.05)
        else:
            assert segment["days_between_orders"] is None
        assert float(segment["avg_clv"]) == pytest.approx(MARGIN * group.revenue.mean(), abs=0.01)
    assert sum(s["customers"] for s in report["segments"]) == len(expected)

    model = report["clv_model"]
    assert model["time_unit"] == "weeks"
    assert all(model["bgnbd"][k] > 0 for k in ("r", "alpha", "a", "b"))
    assert all(model["gamma_gamma"][k] > 0 for k in ("p", "q", "v"))
    predicted = rows.predicted_clv_12m.astype(float)
    assert (predicted >= 0).all() and predicted.sum() > 0
    assert rows.p_alive.between(0, 1).all()
