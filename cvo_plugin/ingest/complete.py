"""The merge of complete orders on PostgreSQL: the bulk backfill's fast path.

A bulk export delivers every order once, with all its lines, each line with its platform id; so
does an order file whose orders' rows are together (its lines keyed as they are staged, or here).
For such a load the general merge (`cvo_plugin.ingest.merge`) does work it does not need: it
folds several records per order into one, ranks lines without ids, and builds two intermediate
tables to find the order ids. Here the order upsert returns the ids of the rows it wrote and the
lines are written against them directly, in five statements.

The rules are the general merge's (its module docstring), to the row: customers, products and
variants only named by orders and lines are created the same way, totals the record leaves empty
come from the order's lines (else the stored row), a stale order is skipped, and an accepted
order gets exactly its staged lines. `merge_complete` checks that the load is complete and
leaves any other load to the general merge.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from cvo_plugin.ingest.merge import (
    LINE_TOTALS,
    LINES_ON_CONFLICT,
    NAMED_CUSTOMERS,
    NAMED_PRODUCTS,
    NAMED_VARIANTS,
    ORDERS_INSERT,
    ORDERS_ON_CONFLICT,
    RANKED_LINE_KEY,
    MergeCounts,
    analyze_outgrown,
)

# What a load that is not complete fails with here: an order or a line given twice (an upsert
# touching a row twice, an insert of a line twice), a line without an id.
_NOT_COMPLETE = frozenset({"21000", "23505", "23502"})
_UNIQUE_VIOLATION = "23505"

# What the merge reads of the staged lines, aggregated once (and, through `prepare_complete`,
# before it is the load's turn to write): each order's totals, and the load's distinct (product,
# variant) pairs with what lines say about them, which the statements creating named products
# and variants and the line insert read instead of every line.
_PREPARE = f"""
SET LOCAL work_mem = '128MB';
SET LOCAL jit = off;
DROP TABLE IF EXISTS stg_totals, stg_pairs;
CREATE TEMPORARY TABLE stg_totals AS {LINE_TOTALS};
CREATE TEMPORARY TABLE stg_pairs AS
SELECT product_platform_id, variant_platform_id, MAX(title) AS title,
    MAX(product_type) AS product_type, MAX(vendor) AS vendor, MAX(sku) AS sku,
    MAX(unit_price) AS unit_price
FROM stg_lines GROUP BY product_platform_id, variant_platform_id
"""

# Lines staged without their key get it here, as the general merge gives it: ranked among all the
# staged lines of their order, product and variant (rule 4).
_KEY_LINES = f"""
UPDATE stg_lines l SET platform_id = k.line_key
FROM (
    SELECT seq, {RANKED_LINE_KEY} AS line_key
    FROM stg_lines
    WHERE order_platform_id IN (SELECT order_platform_id FROM stg_lines WHERE platform_id IS NULL)
) k
WHERE l.seq = k.seq AND l.platform_id IS NULL
"""

_WRITTEN_DDL = """CREATE TEMPORARY TABLE stg_written (id BIGINT, platform_id TEXT, existed BOOLEAN,
    has_lines BOOLEAN, cancelled BOOLEAN, returns BIGINT)"""

# The orders, returning what they wrote: inserted (`_INSERT_ORDERS`, when none of them is
# stored yet, as in a first backfill) or upserted. `xmax` is 0 on a row the statement inserted
# and the updating transaction on a row it updated.
_ORDERS = f"""
WITH s AS (
    -- The stored order is read only where the load leaves a total or the creation time to it.
    SELECT o.platform_id, o.name, c.id AS customer_id, o.email,
        COALESCE(o.created_at, e.created_at) AS created_at, o.processed_at, o.updated_at,
        o.cancelled_at, o.financial_status, o.currency,
        COALESCE(o.gross, l.gross, e.gross, 0) AS gross,
        COALESCE(o.discounts, l.discounts, e.discounts, 0) AS discounts,
        COALESCE(o.refunds, l.refunds, e.refunds, 0) AS refunds,
        o.shipping, o.tax, o.total, o.discount_codes, o.source_name, o.referrer, o.landing_page,
        o.utm_source, o.utm_medium, o.utm_campaign, o.device_type, o.country, o.province,
        o.city, o.note_attributes, COALESCE(l.line_count, e.line_count, 0) AS line_count,
        COALESCE(l.units, e.units, 0) AS units
    FROM stg_orders o
    LEFT JOIN stg_totals l ON l.order_platform_id = o.platform_id
    LEFT JOIN LATERAL (
        SELECT e.created_at, e.gross, e.discounts, e.refunds, e.line_count, e.units
        FROM orders e
        WHERE (l.order_platform_id IS NULL OR o.created_at IS NULL)
            AND e.shop_id = :shop AND e.platform_id = o.platform_id
        OFFSET 0  -- a fence: probe per order, never a scan of the shop's orders
    ) e ON TRUE
    LEFT JOIN customers c ON c.shop_id = :shop AND c.platform_id = o.customer_platform_id
), written AS (
    {ORDERS_INSERT}
    FROM s
    ORDER BY s.platform_id COLLATE "C"  -- one order of locks for every writer, sorted bytewise
    {{conflict}}
    RETURNING id, platform_id, xmax <> '0' AS existed, cancelled_at IS NOT NULL AS cancelled
)
INSERT INTO stg_written
SELECT w.id, w.platform_id, w.existed, l.order_platform_id IS NOT NULL, w.cancelled,
    COALESCE(l.returns, 0)
FROM written w LEFT JOIN stg_totals l ON l.order_platform_id = w.platform_id
"""

_INSERT_ORDERS = _ORDERS.replace("{conflict}", "")
_UPSERT_ORDERS = _ORDERS.replace("{conflict}", ORDERS_ON_CONFLICT)

# Lines the load no longer gives, of orders that were stored before and come with lines.
_DELETE_REPLACED_LINES = """
DELETE FROM order_lines d
USING stg_written w
WHERE w.existed AND w.has_lines AND d.order_id = w.id
  AND NOT EXISTS (SELECT 1 FROM stg_lines l
                  WHERE l.order_platform_id = w.platform_id AND l.platform_id = d.platform_id)
"""

# Products and variants are looked up once per pair of the load. The lines of orders
# this load created are inserted (nothing can conflict with them); those of orders it updated
# are upserted.
_LINES = """
WITH pairs AS MATERIALIZED (
    SELECT COALESCE(k.product_platform_id, '') AS product_key,
        COALESCE(k.variant_platform_id, '') AS variant_key, p.id AS product_id, v.id AS variant_id
    FROM stg_pairs k
    LEFT JOIN products p ON p.shop_id = :shop AND p.platform_id = k.product_platform_id
    LEFT JOIN variants v ON v.shop_id = :shop AND v.platform_id = k.variant_platform_id
)
INSERT INTO order_lines (shop_id, order_id, platform_id, product_id, variant_id, sku, title,
    quantity, unit_price, discount, refunded_quantity)
SELECT :shop, w.id, l.platform_id, k.product_id, k.variant_id, l.sku, l.title, l.quantity,
    l.unit_price, COALESCE(l.discount, 0), COALESCE(l.refunded_quantity, 0)
FROM stg_lines l
JOIN stg_written w ON w.platform_id = l.order_platform_id AND w.existed = {existed}
JOIN pairs k ON k.product_key = COALESCE(l.product_platform_id, '')
    AND k.variant_key = COALESCE(l.variant_platform_id, '')
ORDER BY {order}
"""
# New lines in the order of their orders (near each other in the index); lines that may
# conflict in one order of locks for every writer.
_INSERT_LINES = _LINES.format(existed="FALSE", order="w.id")
_UPSERT_LINES = _LINES.format(existed="TRUE", order="w.id, l.platform_id") + LINES_ON_CONFLICT

_COUNTS = """
SELECT (SELECT COUNT(*) FROM stg_orders), COUNT(*),
    COALESCE(SUM(CASE WHEN cancelled THEN 1 ELSE 0 END), 0), COALESCE(SUM(returns), 0),
    COUNT(*) FILTER (WHERE existed AND has_lines)
FROM stg_written
"""


def prepare_complete(connection: Connection) -> None:
    """Aggregate the staged lines for `merge_complete` (PostgreSQL). It only reads the staging
    tables, so it can run while another transaction merges; `merge_complete` runs it when the
    caller has not."""
    connection.exec_driver_sql(_PREPARE)


def merge_complete(
    connection: Connection,
    shop_id: int,
    prepared: bool = False,
    named: bool = False,
    unkeyed_lines: bool = False,
) -> MergeCounts | None:
    """Merge a load of complete orders (see the module doc) into shop `shop_id`'s tables on
    PostgreSQL; None, having changed nothing, when the load turns out not to be complete: it
    then needs the general merge. Customers, products and variants staged as records are the
    caller's to rule out; `prepared`: `prepare_complete` ran after the last rows were staged;
    `named`: so did `create_named`; `unkeyed_lines`: some lines may lack their key."""
    assert connection.dialect.name == "postgresql", "the complete-orders merge is PostgreSQL's"
    if not prepared:
        prepare_complete(connection)
    try:
        with connection.begin_nested():
            if unkeyed_lines:
                connection.exec_driver_sql(_KEY_LINES)
            if not named:
                create_named(connection, shop_id)
            return _merge(connection, {"shop": shop_id})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in _NOT_COMPLETE:
            return None
        raise


def create_named(connection: Connection, shop_id: int) -> None:
    """Create the customers, products and variants the staged orders and lines name but the shop
    lacks, and fill their empty fields (the general merge's rule 2), after `prepare_complete`.
    What it writes follows from the load alone, so it may commit ahead of the orders: the
    Shopify backfill does, so that batches can merge side by side."""
    params = {"shop": shop_id}
    connection.exec_driver_sql("SET LOCAL work_mem = '128MB'; SET LOCAL jit = off")
    named = {
        table: connection.execute(text(statement), params).rowcount
        for table, statement in (
            ("customers", NAMED_CUSTOMERS),
            ("products", NAMED_PRODUCTS.replace("stg_lines", "stg_pairs")),
            ("variants", NAMED_VARIANTS.replace("stg_lines", "stg_pairs")),
        )
    }
    # The lookups below probe these tables by index; statistics that still describe a much
    # smaller table could send them down another index.
    analyze_outgrown(connection, named)


def _merge(connection: Connection, params: dict[str, Any]) -> MergeCounts:
    # Hash in memory (the staging tables carry no statistics: the planner would sort them to
    # merge-join a large load); compiling these statements (JIT) costs more than running them.
    connection.exec_driver_sql(
        "SET LOCAL work_mem = '128MB'; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off; "
        f"DROP TABLE IF EXISTS stg_written; {_WRITTEN_DDL}"
    )
    try:
        with connection.begin_nested():  # without the upsert's per-row conflict handling
            connection.execute(text(_INSERT_ORDERS), params)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        connection.execute(text(_UPSERT_ORDERS), params)
    staged, written, cancelled, returns, replaced = connection.execute(text(_COUNTS)).one()
    lines = connection.execute(text(_INSERT_LINES), params).rowcount
    if replaced:
        connection.execute(text(_DELETE_REPLACED_LINES))
        lines += connection.execute(text(_UPSERT_LINES), params).rowcount
    connection.exec_driver_sql("DROP TABLE stg_written, stg_totals, stg_pairs")
    return MergeCounts(
        orders=int(written),
        stale_orders=int(staged) - int(written),
        lines=lines,
        returns=int(returns),
        cancelled=int(cancelled),
    )
