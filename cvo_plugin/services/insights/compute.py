"""One shop's customer-value computation: the loaded arrays through the pure analytics, into rows
and summaries ready to store. No database access here: `load` reads, `store` writes.

Definitions are those of the analytics modules; the choices made here:

- gross margin: the shop's setting, else the catalogue's (1 - cost / price over the sold units
  whose variant has a cost per item, when those carry at least half of the sales), else 50 %;
- the CLV model is fitted when the shop has at least `MIN_MODEL_CUSTOMERS` scored customers and
  `MIN_REPEAT_BUYERS` repeat buyers; the spend per future purchase comes from Gamma-Gamma when it
  fits with q > 1, else from each customer's own average order value;
- LTV for channels (LTV:CAC) = historic CLV + predicted 12-month value (gross profit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from cvo_plugin.analytics import clv as clv_model
from cvo_plugin.analytics.channels import channel_metrics, classify_channels, month_index, normalize_channel
from cvo_plugin.analytics.customers import CustomerHistory, completed_orders, customer_history
from cvo_plugin.analytics.offers import first_purchase_offers
from cvo_plugin.analytics.profiles import local_weekday_hour, order_shape, top_counts, weekday_hour_grid
from cvo_plugin.analytics.rfm import rfm_grid, rfm_scores
from cvo_plugin.analytics.segments import SegmentTable
from cvo_plugin.analytics.summaries import GroupSummary, group_summary
from cvo_plugin.analytics.transitions import segment_transitions
from cvo_plugin.services.insights.load import SECONDS_PER_DAY, ShopData, factorize, positions, take
from cvo_plugin.services.insights.settings import DEFAULT_MARGIN, AnalyticsSettings
from cvo_plugin.types import to_money

MIN_MODEL_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 5
# Larger shops fit the model on a seeded random sample of this many customers (4 and 3
# parameters are pinned down long before that; every customer is still scored).
MAX_FIT_CUSTOMERS = 250_000
HORIZON_DAYS = 365
TOP = 5
TOP_PRODUCTS = 10
OFFER_ROWS = 25
MIN_OFFER_CUSTOMERS = 10
EPOCH = date(1970, 1, 1)


def money(value: float) -> str | None:
    """A float amount as a decimal string rounded to cents (None for NaN)."""
    if value is None or not np.isfinite(value):
        return None
    return str(to_money(float(value)))


def ratio(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if value is not None and np.isfinite(value) else None


@dataclass(frozen=True)
class CustomerRows:
    """Per scored customer, aligned; what `customer_scores` stores."""

    customer: np.ndarray
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray  # index into Computation.table.keys
    recency_days: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    historic_clv: np.ndarray
    predicted_clv: np.ndarray  # NaN without a model
    p_alive: np.ndarray
    expected_90: np.ndarray
    expected_365: np.ndarray
    channel: np.ndarray  # index into Computation.channel_labels

    def __len__(self) -> int:
        return len(self.customer)


@dataclass(frozen=True)
class Computation:
    as_of: date
    table: SegmentTable
    rows: CustomerRows
    channel_labels: list[str]
    orders: int
    revenue: float
    settings: dict[str, Any]
    clv_model: dict[str, Any]
    summaries: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[float, str], None]


def compute(data: ShopData, settings: AnalyticsSettings, progress: Progress | None = None) -> Computation:
    """Scores, segments, CLV, channels, profiles, offers and transitions of one shop."""
    report = progress or (lambda fraction, message: None)
    table = settings.segment_table()
    report(0.0, "scoring customers")
    done = completed_orders(data.order_cancelled, data.order_revenue)
    done &= data.order_customer >= 0  # guests are not scored
    day = np.floor_divide(data.order_seconds, SECONDS_PER_DAY)
    history = customer_history(data.order_customer[done], day[done], data.order_revenue[done], data.as_of)
    # Money is scored in cents, so float noise in sums never splits customers who spent the same.
    monetary_cents = np.round(history.revenue, 2)
    scores = rfm_scores(history.recency_days, history.orders, monetary_cents, settings.rfm_scale)
    segment = table.assign(scores.r, scores.f, scores.m, settings.rfm_scale)

    margin, margin_source = _margin(data, settings)
    historic = clv_model.historic_clv(history.revenue, margin)
    report(0.25, "fitting the CLV model")
    model, predicted, alive, e90, e365 = _predict(history, margin)

    report(0.55, "channels")
    channel, labels = _channels(data, history)
    ltv = historic + np.nan_to_num(predicted)
    rows = CustomerRows(
        customer=history.customer,
        r=scores.r,
        f=scores.f,
        m=scores.m,
        segment=segment,
        recency_days=history.recency_days,
        frequency=history.orders,
        monetary=history.revenue,
        first_day=history.first_day,
        last_day=history.last_day,
        historic_clv=historic,
        predicted_clv=predicted,
        p_alive=alive,
        expected_90=e90,
        expected_365=e365,
        channel=channel,
    )
    used = settings.as_dict() | {
        "gross_margin_used": round(margin, 4),
        "gross_margin_source": margin_source,
        "segment_table": table.to_dict(),
    }
    computation = Computation(
        as_of=data.as_of,
        table=table,
        rows=rows,
        channel_labels=labels,
        orders=int(history.orders.sum()),
        revenue=float(history.revenue.sum()),
        settings=used,
        clv_model=model,
    )
    report(0.65, "summaries")
    summaries = {
        "segments": _segments_payload(computation, history, settings),
        "rfm_grid": _grid_payload(rows, settings.rfm_scale),
        "channels": _channels_payload(data, rows, labels, ltv),
    }
    report(0.75, "profiles")
    summaries["profiles"] = _profiles_payload(data, history, computation, done)
    report(0.85, "offers")
    summaries["offers"] = _offers_payload(data, history, historic, margin)
    report(0.95, "transitions")
    summaries["transitions"] = _transitions_payload(data, computation)
    summaries["clv_by_segment"] = _clv_by_segment(computation)
    report(1.0, "computed")
    return replace(computation, summaries=summaries)


# --- margin and model ---------------------------------------------------------------------------


def _margin(data: ShopData, settings: AnalyticsSettings) -> tuple[float, str]:
    if settings.gross_margin is not None:
        return settings.gross_margin, "setting"
    cost = take(data.variant_cost, positions(data.variant_id, data.line_variant), np.nan)
    known = np.isfinite(cost) & (data.line_gross > 0)
    gross_known = float(data.line_gross[known].sum())
    gross_all = float(data.line_gross[data.line_gross > 0].sum())
    if gross_all > 0 and gross_known >= 0.5 * gross_all:
        margin = 1.0 - float((data.line_units[known] * cost[known]).sum()) / gross_known
        return float(min(max(margin, 0.0), 1.0)), "catalogue"
    return DEFAULT_MARGIN, "default"


def _predict(
    history: CustomerHistory, margin: float
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(history)
    nan = np.full(n, np.nan)
    x = history.repeat_purchases
    t_x = (history.last_day - history.first_day) / clv_model.DAYS_PER_WEEK
    T = history.tenure_days / clv_model.DAYS_PER_WEEK
    model: dict[str, Any] = {
        "time_unit": "weeks",
        "horizon_days": HORIZON_DAYS,
        "bgnbd": None,
        "gamma_gamma": None,
        "spend_source": None,
        "notes": [],
    }
    repeat_buyers = int((x > 0).sum())
    if n < MIN_MODEL_CUSTOMERS or repeat_buyers < MIN_REPEAT_BUYERS:
        model["notes"].append(
            f"not fitted: needs {MIN_MODEL_CUSTOMERS} customers and {MIN_REPEAT_BUYERS} repeat buyers "
            f"(has {n} and {repeat_buyers})"
        )
        return model, nan, nan.copy(), nan.copy(), nan.copy()
    fit = np.arange(n)
    if n > MAX_FIT_CUSTOMERS:
        fit = np.sort(np.random.default_rng(0).choice(n, MAX_FIT_CUSTOMERS, replace=False))
        model["notes"].append(f"fitted on a random sample of {MAX_FIT_CUSTOMERS} of the {n} customers")
    try:
        bgnbd = clv_model.bgnbd_fit(x[fit], t_x[fit], T[fit])
    except ValueError as exc:
        model["notes"].append(f"BG/NBD not fitted: {exc}")
        return model, nan, nan.copy(), nan.copy(), nan.copy()
    model["bgnbd"] = _rounded(bgnbd.as_dict())
    if not bgnbd.converged:
        model["notes"].append(
            "BG/NBD: some parameters reached their bounds (the data do not pin them down; very large a "
            "and b mean every customer drops out after a purchase with about the same probability "
            "a / (a + b)); predictions use the bounded values"
        )
    alive = clv_model.p_alive(bgnbd, x, t_x, T)
    e90 = clv_model.expected_purchases(bgnbd, 90 / clv_model.DAYS_PER_WEEK, x, t_x, T)
    e365 = clv_model.expected_purchases(bgnbd, HORIZON_DAYS / clv_model.DAYS_PER_WEEK, x, t_x, T)
    spend = history.aov
    model["spend_source"] = "average order value"
    try:
        gamma_gamma = clv_model.gamma_gamma_fit(x[fit], history.repeat_value[fit])
        model["gamma_gamma"] = _rounded(gamma_gamma.as_dict())
        if gamma_gamma.q > 1.0:
            spend = clv_model.expected_spend(gamma_gamma, x, history.repeat_value)
            model["spend_source"] = "gamma-gamma"
        else:
            model["notes"].append("Gamma-Gamma q <= 1: spend taken from each customer's average order value")
    except ValueError as exc:
        model["notes"].append(f"Gamma-Gamma not fitted: {exc}")
    predicted = clv_model.predicted_value(e365, spend, margin)
    return model, predicted, alive, e90, e365


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


# --- channels -----------------------------------------------------------------------------------


def _channels(data: ShopData, history: CustomerHistory) -> tuple[np.ndarray, list[str]]:
    """Channel code per history customer, and the labels (customers' channels and spend channels)."""
    codes, labels = classify_channels(**data.first_attribution)
    spend_labels = {normalize_channel(c) or "unknown" for c in data.spend_channel}
    all_labels = sorted(set(labels) | spend_labels | {"unknown"})
    channel = np.full(len(history), all_labels.index("unknown"), np.int64)
    if labels:
        remap = np.array([all_labels.index(label) for label in labels], dtype=np.int64)
        at = history.index_of(data.first_customer)
        found = at >= 0
        channel[at[found]] = remap[codes[found]]
    return channel, all_labels


def _channels_payload(
    data: ShopData, rows: CustomerRows, labels: list[str], ltv: np.ndarray
) -> dict[str, Any]:
    spend_codes = np.array(
        [labels.index(normalize_channel(c) or "unknown") for c in data.spend_channel], np.int64
    )
    acquired = month_index(rows.first_day)
    metrics = channel_metrics(
        rows.channel, len(labels), acquired, ltv, spend_codes, data.spend_month, data.spend_amount
    )
    historic = np.bincount(rows.channel, weights=rows.historic_clv, minlength=len(labels))
    channels = []
    for i, label in enumerate(labels):
        if metrics.customers[i] == 0 and metrics.spend[i] == 0:
            continue
        channels.append(
            {
                "name": label,
                "customers": int(metrics.customers[i]),
                "share_customers": ratio(metrics.customers[i] / max(len(rows), 1)),
                "avg_clv": money(historic[i] / metrics.customers[i]) if metrics.customers[i] else None,
                "avg_ltv": money(metrics.avg_ltv[i]),
                "spend": money(metrics.spend[i]),
                "spend_months": int(metrics.spend_months[i]),
                "new_customers": int(metrics.new_customers[i]),
                "cac": money(metrics.cac[i]),
                "ltv": money(metrics.new_customer_ltv[i]),
                "ltv_cac": ratio(metrics.ltv_cac[i], 2),
                "below_1": bool(metrics.below_1[i]),
                "below_3": bool(metrics.below_3[i]),
            }
        )
    channels.sort(key=lambda c: (-c["customers"], c["name"]))
    # The last twelve months: new customers and spend per channel and month.
    last = int(month_index(np.array([(data.as_of - EPOCH).days]))[0])
    months = list(range(last - 11, last + 1))
    monthly = []
    for month in months:
        in_month = acquired == month
        new = np.bincount(rows.channel[in_month], minlength=len(labels))
        spent = np.bincount(
            spend_codes[data.spend_month == month],
            weights=data.spend_amount[data.spend_month == month],
            minlength=len(labels),
        )
        monthly.append(
            {
                "month": f"{month // 12:04d}-{month % 12 + 1:02d}",
                "new_customers": {labels[i]: int(new[i]) for i in np.flatnonzero(new)},
                "spend": {labels[i]: money(spent[i]) for i in np.flatnonzero(spent)},
            }
        )
    return {
        "ltv_definition": "historic CLV + predicted 12-month value",
        "channels": channels,
        "monthly": monthly,
    }


# --- summaries ----------------------------------------------------------------------------------


def _summary_row(summary: GroupSummary, i: int) -> dict[str, Any]:
    return {
        "customers": int(summary.customers[i]),
        "share_customers": ratio(summary.share_customers[i]),
        "revenue": money(summary.revenue[i]),
        "share_revenue": ratio(summary.share_revenue[i]),
        "orders": int(summary.orders[i]),
        "aov": money(summary.aov[i]),
        "orders_per_customer": ratio(summary.orders_per_customer[i], 2),
        "days_between_orders": ratio(summary.days_between_orders[i], 1),
        "avg_clv": money(summary.avg_clv[i]),
        "avg_predicted_clv": money(summary.avg_predicted_clv[i]),
        "avg_p_alive": ratio(summary.avg_p_alive[i]),
        "purchase_frequency": ratio(summary.purchase_frequency[i]),
        "formula_clv": money(summary.formula_clv[i]),
    }


def _group(
    rows: CustomerRows,
    history: CustomerHistory,
    group: np.ndarray,
    n: int,
    settings: AnalyticsSettings,
    margin: float,
) -> GroupSummary:
    return group_summary(
        group,
        n,
        orders=rows.frequency,
        revenue=rows.monetary,
        first_day=rows.first_day,
        last_day=rows.last_day,
        tenure_days=history.tenure_days,
        historic_clv=rows.historic_clv,
        predicted_clv=rows.predicted_clv,
        p_alive=rows.p_alive,
        margin=margin,
        lifespan_years=settings.expected_lifespan_years,
    )


def _segments_payload(
    c: Computation, history: CustomerHistory, settings: AnalyticsSettings
) -> dict[str, Any]:
    margin = c.settings["gross_margin_used"]
    per_segment = _group(c.rows, history, c.rows.segment, len(c.table.segments), settings, margin)
    total = _group(c.rows, history, np.zeros(len(c.rows), np.int64), 1, settings, margin)
    segments = [
        {"key": s.key, "name": s.name, "description": s.description, **_summary_row(per_segment, i)}
        for i, s in enumerate(c.table.segments)
    ]
    return {
        "customers": len(c.rows),
        "orders": c.orders,
        "revenue": money(c.revenue),
        "gross_margin": margin,
        "gross_margin_source": c.settings["gross_margin_source"],
        "expected_lifespan_years": settings.expected_lifespan_years,
        "preset": c.table.preset,
        "total": _summary_row(total, 0),
        "segments": segments,
    }


def _grid_payload(rows: CustomerRows, scale: int) -> dict[str, Any]:
    grid = rfm_grid(rows.r, rows.f, rows.monetary, scale)
    cells = [
        {
            "r": r + 1,
            "f": f + 1,
            "customers": int(grid.customers[r, f]),
            "avg_monetary": money(grid.avg_monetary[r, f]),
        }
        for r in range(scale)
        for f in range(scale)
    ]
    return {"scale": scale, "cells": cells}


def _clv_by_segment(c: Computation) -> dict[str, Any]:
    n = len(c.table.segments)
    seg = c.rows.segment
    known = np.isfinite(c.rows.predicted_clv)
    count = np.bincount(seg, minlength=n)
    known_count = np.bincount(seg[known], minlength=n)

    def mean(values: np.ndarray, mask: np.ndarray, counts: np.ndarray) -> list[float]:
        sums = np.bincount(seg[mask], weights=values[mask], minlength=n)
        return [sums[i] / counts[i] if counts[i] else float("nan") for i in range(n)]

    everyone = np.ones(len(seg), bool)
    predicted = mean(c.rows.predicted_clv, known, known_count)
    totals = np.bincount(seg[known], weights=c.rows.predicted_clv[known], minlength=n)
    e365 = mean(c.rows.expected_365, known, known_count)
    alive = mean(c.rows.p_alive, known, known_count)
    historic = mean(c.rows.historic_clv, everyone, count)
    return {
        "horizon_days": HORIZON_DAYS,
        "segments": [
            {
                "key": s.key,
                "name": s.name,
                "customers": int(count[i]),
                "avg_historic_clv": money(historic[i]),
                "avg_predicted_clv": money(predicted[i]),
                "total_predicted_clv": money(totals[i]) if known_count[i] else None,
                "avg_expected_orders_365d": ratio(e365[i], 3),
                "avg_p_alive": ratio(alive[i]),
            }
            for i, s in enumerate(c.table.segments)
        ],
    }


# --- profiles -----------------------------------------------------------------------------------


def _named_top(
    top: Any, i: int, names: list[str] | np.ndarray, count_key: str = "customers"
) -> list[dict[str, Any]]:
    return [
        {"name": str(names[code]), count_key: int(count), "share": ratio(share)}
        for code, count, share in zip(top.codes[i], top.counts[i], top.shares[i], strict=True)
        if code >= 0
    ]


def _profiles_payload(
    data: ShopData, history: CustomerHistory, c: Computation, done: np.ndarray
) -> dict[str, Any]:
    n = len(c.table.segments)
    seg = c.rows.segment

    def segment_of(customer_ids: np.ndarray) -> np.ndarray:
        return take(seg, history.index_of(customer_ids), -1)

    # places of each scored customer
    at = positions(data.customer_id, history.customer)
    country = take(data.customer_country, at, -1)
    city = take(data.customer_city, at, -1)
    countries = top_counts(seg, n, country, len(data.country_labels), top=TOP)
    cities = top_counts(seg, n, city, len(data.city_labels), top=TOP)
    channels = top_counts(seg, n, c.rows.channel, len(c.channel_labels), top=TOP)

    # orders of scored customers (completed, up to the as-of day)
    in_scope = done & (np.floor_divide(data.order_seconds, SECONDS_PER_DAY) <= (data.as_of - EPOCH).days)
    order_seg = segment_of(data.order_customer[in_scope])
    scored = order_seg >= 0
    weekday, hour = local_weekday_hour(data.order_seconds[in_scope][scored], data.timezone)
    grid = weekday_hour_grid(order_seg[scored], n, weekday, hour)
    shape = order_shape(
        order_seg[scored],
        n,
        data.order_lines[in_scope][scored],
        data.order_units[in_scope][scored],
        data.order_discounted[in_scope][scored],
    )

    device_seg = segment_of(data.device_customer)
    devices = top_counts(
        np.maximum(device_seg, 0),
        n,
        np.where(device_seg >= 0, data.device_code, -1),
        len(data.device_labels),
        weights=data.device_orders,
        top=TOP,
    )

    line_seg = segment_of(data.line_customer)
    line_ok = line_seg >= 0
    product_at = positions(data.product_id, data.line_product)
    type_code, type_labels = factorize(data.product_type)
    line_type = take(type_code, product_at, -1)
    product_titles = [str(t or p) for t, p in zip(data.product_title, data.product_platform_id, strict=True)]
    variant_at = positions(data.variant_id, data.line_variant)
    variant_names = [
        f"{product_titles[p] if p >= 0 else '?'} - {t}"
        if t and t != "Default Title"
        else (product_titles[p] if p >= 0 else "?")
        for t, p in zip(data.variant_title, positions(data.product_id, data.variant_product), strict=True)
    ]

    def orders_with(code: np.ndarray, n_codes: int, top: int) -> Any:
        """Top codes per segment by the number of orders holding them (each order counted once)."""
        ok = line_ok & (code >= 0)
        key = data.line_order[ok] * max(n_codes, 1) + code[ok]  # one key per (order, code)
        first = np.unique(key, return_index=True)[1]
        return top_counts(line_seg[ok][first], n, code[ok][first], n_codes, top=top)

    types = orders_with(line_type, len(type_labels), TOP)
    products = orders_with(product_at, len(product_titles), TOP_PRODUCTS)
    variants = orders_with(variant_at, len(variant_names), TOP_PRODUCTS)

    profiles = {}
    for i, s in enumerate(c.table.segments):
        known_devices = float(devices.totals[i])
        profiles[s.key] = {
            "name": s.name,
            "customers": int((seg == i).sum()),
            "countries": _named_top(countries, i, data.country_labels),
            "cities": _named_top(cities, i, data.city_labels),
            "channels": _named_top(channels, i, c.channel_labels),
            "devices": _named_top(devices, i, data.device_labels, "orders"),
            "device_known_share": ratio(known_devices / shape.orders[i]) if shape.orders[i] else None,
            "product_types": _named_top(types, i, type_labels, "orders"),
            "products": _named_top(products, i, product_titles, "orders"),
            "variants": _named_top(variants, i, variant_names, "orders"),
            "weekday_hour": grid[i].tolist(),
            "orders": int(shape.orders[i]),
            "avg_lines": ratio(shape.avg_lines[i], 2),
            "avg_units": ratio(shape.avg_units[i], 2),
            "discounted_share": ratio(shape.discounted_share[i]),
        }
    return {"timezone": data.timezone, "weekdays": "0 = Monday", "segments": profiles}


# --- offers -------------------------------------------------------------------------------------


def _offers_payload(
    data: ShopData, history: CustomerHistory, historic: np.ndarray, margin: float
) -> dict[str, Any]:
    ids = data.product_id
    n_products = len(ids)
    if n_products == 0 or len(history) == 0:
        return {"min_customers": MIN_OFFER_CUSTOMERS, "price_threshold": None, "tripwires": [], "core": []}
    line_at = positions(ids, data.line_product)
    sold = line_at >= 0
    units = np.bincount(line_at[sold], weights=data.line_units[sold], minlength=n_products)
    gross = np.bincount(line_at[sold], weights=data.line_gross[sold], minlength=n_products)
    revenue = np.bincount(line_at[sold], weights=data.line_revenue[sold], minlength=n_products)
    price = np.where(units > 0, gross / np.maximum(units, 1), 0.0)
    pair_customer = history.index_of(data.first_product_customer)
    pair_product = positions(ids, data.first_product)
    ok = (pair_customer >= 0) & (pair_product >= 0)
    stats = first_purchase_offers(
        pair_customer[ok],
        pair_product[ok],
        n_products,
        first_day=history.first_day,
        second_day=history.second_day,
        as_of_day=history.as_of_day,
        clv=historic,
        value_after=(history.revenue - history.first_day_revenue) * margin,
        price=price,
        revenue=revenue,
        min_customers=MIN_OFFER_CUSTOMERS,
    )
    total_revenue = float(revenue[revenue > 0].sum())
    starters = stats.customers > 0

    def row(i: int) -> dict[str, Any]:
        return {
            "product_id": int(ids[i]),
            "platform_id": str(data.product_platform_id[i]),
            "title": str(data.product_title[i] or data.product_platform_id[i]),
            "price": money(stats.price[i]),
            "first_customers": int(stats.customers[i]),
            "repeat_rate_90d": ratio(stats.repeat_rate_90[i]),
            "eligible_90d": int(stats.eligible_90[i]),
            "repeat_rate_365d": ratio(stats.repeat_rate_365[i]),
            "eligible_365d": int(stats.eligible_365[i]),
            "avg_clv": money(stats.avg_clv[i]),
            "avg_value_after": money(stats.avg_value_after[i]),
            "revenue": money(stats.revenue[i]),
            "share_revenue": ratio(stats.revenue[i] / total_revenue) if total_revenue > 0 else None,
            "tripwire_score": ratio(stats.tripwire_score[i]),
        }

    first_products = np.flatnonzero(starters)
    first_products = first_products[np.lexsort((first_products, -stats.customers[first_products]))]
    return {
        "min_customers": MIN_OFFER_CUSTOMERS,
        "price_threshold": money(float(np.median(stats.price[starters]))) if starters.any() else None,
        "tripwires": [row(i) for i in stats.tripwires[:OFFER_ROWS]],
        "core": [row(i) for i in stats.core[:OFFER_ROWS]],
        "first_purchases": [row(i) for i in first_products[:100]],
    }


# --- transitions --------------------------------------------------------------------------------


def _transitions_payload(data: ShopData, c: Computation) -> dict[str, Any] | None:
    if data.previous_snapshot is None:
        return None
    keys = list(c.table.keys)
    names = dict(zip(c.table.keys, c.table.names, strict=True))
    previous_keys, previous_code = np.unique(data.previous_segment.astype(str), return_inverse=True)
    for key in previous_keys.tolist():  # segments of the earlier table this one no longer has
        if key not in names:
            names[key] = key
            keys.append(key)
    index = {key: i for i, key in enumerate(keys)}
    before = np.array([index[k] for k in previous_keys.tolist()], dtype=np.int64)[previous_code.reshape(-1)]
    after = np.array([index[k] for k in c.table.keys], dtype=np.int64)[c.rows.segment]
    moves = segment_transitions(
        data.previous_customer,
        before,
        data.previous_monetary,
        c.rows.customer,
        after,
        c.rows.monetary,
        len(keys),
    )
    n = len(keys)
    cells = []
    for i, j in np.argwhere(moves.customers > 0):
        cells.append(
            {
                "from": keys[i] if i < n else None,
                "to": keys[j] if j < n else None,
                "customers": int(moves.customers[i, j]),
                "revenue": money(moves.revenue[i, j]),
                "revenue_change": money(moves.revenue_change[i, j]),
            }
        )
    return {
        "from_snapshot": data.previous_snapshot,
        "from_as_of": data.previous_as_of.isoformat() if data.previous_as_of else None,
        "to_as_of": c.as_of.isoformat(),
        "segments": [{"key": k, "name": names[k]} for k in keys],
        "cells": cells,
    }
