"""Set-based merge of the staging tables into one shop's tables (same SQL on SQLite and PostgreSQL).

Rules, in the order they run:

1. Customers, products and variants given as records replace the stored row unless the stored
   row is newer (`platform_updated_at`) or the customer was redacted.
2. Customers, products and variants only named by orders or lines are created when missing;
   on existing rows they only fill empty fields.
3. Orders: the per-row records of one order are merged (the non-empty value wins). An order
   older than the stored one (both `updated_at` known) is skipped as stale. Totals the record
   does not give are computed from its staged lines:
   gross = sum(quantity x unit_price) over lines with quantity > 0;
   discounts = sum(line discount);
   refunds = sum(-quantity x unit_price) over return lines (quantity < 0)
             + sum(refunded_quantity x unit_price);
   and, when the load holds no lines for the order either, the stored totals are kept (as
   are its name, customer and e-mail when the record leaves them empty).
   net_revenue = max(gross - discounts - refunds, 0), and 0 when the order is cancelled.
4. Lines: an accepted order that comes with lines gets exactly those lines (lines it no longer
   has are deleted). Lines are unique per (order, platform id); a line without a platform id
   is keyed `<product>:<variant>:<rank among those in the order>`, so reading the same file
   again addresses the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

NET = "CASE WHEN {c} IS NOT NULL THEN 0 WHEN {g} - {d} - {r} < 0 THEN 0 ELSE {g} - {d} - {r} END"


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did."""

    orders: int = 0
    stale_orders: int = 0
    lines: int = 0
    returns: int = 0
    cancelled: int = 0
    customers: int = 0
    products: int = 0
    variants: int = 0

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


# 1. customers given as records
GIVEN_CUSTOMERS = """
    INSERT INTO customers (shop_id, platform_id, email, first_name, last_name, phone, country,
        province, city, tags, accepts_marketing, platform_created_at, platform_updated_at)
    SELECT :shop, s.platform_id, s.email, s.first_name, s.last_name, s.phone, s.country,
        s.province, s.city, s.tags, s.accepts_marketing, s.created_at, s.updated_at
    FROM stg_customers s
    WHERE s.seq IN (SELECT MAX(t.seq) FROM stg_customers t GROUP BY t.platform_id)
    ON CONFLICT (shop_id, platform_id) DO UPDATE SET
        email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
        phone = excluded.phone, country = excluded.country, province = excluded.province,
        city = excluded.city, tags = excluded.tags, accepts_marketing = excluded.accepts_marketing,
        platform_created_at = COALESCE(excluded.platform_created_at, customers.platform_created_at),
        platform_updated_at = excluded.platform_updated_at
    WHERE customers.redacted_at IS NULL AND (customers.platform_updated_at IS NULL
        OR excluded.platform_updated_at IS NULL
        OR excluded.platform_updated_at >= customers.platform_updated_at)
"""
# 2. customers only named by orders
NAMED_CUSTOMERS = """
    INSERT INTO customers (shop_id, platform_id, email, country, province, city)
    SELECT :shop, o.customer_platform_id, MAX(o.email), MAX(o.country), MAX(o.province),
        MAX(o.city)
    FROM stg_orders o
    WHERE o.customer_platform_id IS NOT NULL
    GROUP BY o.customer_platform_id
    ON CONFLICT (shop_id, platform_id) DO UPDATE SET
        email = COALESCE(customers.email, excluded.email),
        country = COALESCE(customers.country, excluded.country),
        province = COALESCE(customers.province, excluded.province),
        city = COALESCE(customers.city, excluded.city)
    WHERE customers.redacted_at IS NULL AND (customers.email IS NULL
        OR customers.country IS NULL OR customers.city IS NULL)
      -- and not when nothing would change (a row rewritten by every batch that names it)
      AND ((customers.email IS NULL AND excluded.email IS NOT NULL)
        OR (customers.country IS NULL AND excluded.country IS NOT NULL)
        OR (customers.province IS NULL AND excluded.province IS NOT NULL)
        OR (customers.city IS NULL AND excluded.city IS NOT NULL))
"""
# 1. products given as records
GIVEN_PRODUCTS = """
    INSERT INTO products (shop_id, platform_id, title, handle, product_type, vendor, status,
        published, tags, image_url, url, platform_created_at, platform_updated_at, deleted_at)
    SELECT :shop, s.platform_id, s.title, s.handle, s.product_type, s.vendor, s.status,
        s.published, s.tags, s.image_url, s.url, s.created_at, s.updated_at, NULL
    FROM stg_products s
    WHERE s.seq IN (SELECT MAX(t.seq) FROM stg_products t GROUP BY t.platform_id)
    ON CONFLICT (shop_id, platform_id) DO UPDATE SET
        title = excluded.title, handle = excluded.handle, product_type = excluded.product_type,
        vendor = excluded.vendor, status = excluded.status, published = excluded.published,
        tags = excluded.tags, image_url = excluded.image_url, url = excluded.url,
        platform_created_at = COALESCE(excluded.platform_created_at, products.platform_created_at),
        platform_updated_at = excluded.platform_updated_at, deleted_at = NULL
    WHERE products.platform_updated_at IS NULL OR excluded.platform_updated_at IS NULL
        OR excluded.platform_updated_at >= products.platform_updated_at
"""
# 2. products only named by lines
NAMED_PRODUCTS = """
    INSERT INTO products (shop_id, platform_id, title, product_type, vendor)
    SELECT :shop, l.product_platform_id, MAX(l.title), MAX(l.product_type), MAX(l.vendor)
    FROM stg_lines l
    WHERE l.product_platform_id IS NOT NULL
    GROUP BY l.product_platform_id
    ON CONFLICT (shop_id, platform_id) DO UPDATE SET
        title = COALESCE(products.title, excluded.title),
        product_type = COALESCE(products.product_type, excluded.product_type),
        vendor = COALESCE(products.vendor, excluded.vendor)
    WHERE (products.title IS NULL AND excluded.title IS NOT NULL)
        OR (products.product_type IS NULL AND excluded.product_type IS NOT NULL)
        OR (products.vendor IS NULL AND excluded.vendor IS NOT NULL)
"""
# 1. variants given as records
GIVEN_VARIANTS = """
    INSERT INTO variants (shop_id, product_id, platform_id, title, sku, price, compare_at_price,
        cost, inventory_quantity, available, image_url, platform_updated_at)
    SELECT :shop, p.id, s.platform_id, s.title, s.sku, s.price, s.compare_at_price, s.cost,
        s.inventory_quantity, s.available, s.image_url, s.updated_at
    FROM stg_variants s
    JOIN products p ON p.shop_id = :shop AND p.platform_id = s.product_platform_id
    WHERE s.seq IN (SELECT MAX(t.seq) FROM stg_variants t GROUP BY t.platform_id)
    ON CONFLICT (shop_id, platform_id) DO UPDATE SET
        product_id = excluded.product_id, title = excluded.title, sku = excluded.sku,
        price = excluded.price, compare_at_price = excluded.compare_at_price,
        cost = excluded.cost, inventory_quantity = excluded.inventory_quantity,
        available = excluded.available, image_url = excluded.image_url,
        platform_updated_at = excluded.platform_updated_at
    WHERE variants.platform_updated_at IS NULL OR excluded.platform_updated_at IS NULL
        OR excluded.platform_updated_at >= variants.platform_updated_at
"""
# 2. variants only named by lines
NAMED_VARIANTS = """
    INSERT INTO variants (shop_id, product_id, platform_id, sku, price)
    SELECT :shop, p.id, l.variant_platform_id, l.sku, l.price
    FROM (SELECT product_platform_id, variant_platform_id, MAX(sku) AS sku, MAX(unit_price) AS price
          FROM stg_lines WHERE variant_platform_id IS NOT NULL
          GROUP BY product_platform_id, variant_platform_id) l
    JOIN products p ON p.shop_id = :shop AND p.platform_id = l.product_platform_id
    WHERE 1 = 1
    ON CONFLICT (shop_id, platform_id) DO NOTHING
"""

_STATEMENTS_BEFORE_ORDERS = [
    GIVEN_CUSTOMERS,
    NAMED_CUSTOMERS,
    GIVEN_PRODUCTS,
    NAMED_PRODUCTS,
    GIVEN_VARIANTS,
    NAMED_VARIANTS,
]

# Orders: merged per platform id with their staged line totals and the stored row, into stg_o.
_STG_O_DDL = {
    "sqlite": """CREATE TEMPORARY TABLE stg_o (platform_id TEXT PRIMARY KEY, existing_id INTEGER,
        accepted INTEGER, has_lines INTEGER, name TEXT, customer_id INTEGER, email TEXT,
        created_at TEXT, processed_at TEXT, updated_at TEXT, cancelled_at TEXT,
        financial_status TEXT, currency TEXT, gross NUMERIC, discounts NUMERIC, refunds NUMERIC,
        shipping NUMERIC, tax NUMERIC, total NUMERIC, discount_codes TEXT, source_name TEXT,
        referrer TEXT, landing_page TEXT, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT,
        device_type TEXT, country TEXT, province TEXT, city TEXT, note_attributes TEXT,
        line_count INTEGER, units INTEGER, returns INTEGER)""",
    "postgresql": """CREATE TEMPORARY TABLE stg_o (platform_id TEXT PRIMARY KEY,
        existing_id BIGINT, accepted BOOLEAN, has_lines BOOLEAN, name TEXT, customer_id BIGINT,
        email TEXT, created_at TIMESTAMPTZ, processed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
        cancelled_at TIMESTAMPTZ, financial_status TEXT, currency TEXT, gross NUMERIC,
        discounts NUMERIC, refunds NUMERIC, shipping NUMERIC, tax NUMERIC, total NUMERIC,
        discount_codes TEXT, source_name TEXT, referrer TEXT, landing_page TEXT,
        utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, device_type TEXT, country TEXT,
        province TEXT, city TEXT, note_attributes TEXT, line_count BIGINT, units BIGINT,
        returns BIGINT)""",
}

# Each staged order's totals from its staged lines (rule 3).
LINE_TOTALS = """
    SELECT order_platform_id,
        SUM(CASE WHEN quantity > 0 THEN quantity * unit_price ELSE 0 END) AS gross,
        SUM(COALESCE(discount, 0)) AS discounts,
        SUM(CASE WHEN quantity < 0 THEN -quantity * unit_price ELSE 0 END
            + COALESCE(refunded_quantity, 0) * unit_price) AS refunds,
        COUNT(*) AS line_count, SUM(quantity) AS units,
        SUM(CASE WHEN quantity < 0 OR COALESCE(refunded_quantity, 0) > 0 THEN 1 ELSE 0 END)
            AS returns
    FROM stg_lines GROUP BY order_platform_id
"""

_FILL_STG_O = f"""
INSERT INTO stg_o
SELECT o.platform_id, e.id,
    CASE WHEN e.id IS NULL OR e.platform_updated_at IS NULL OR o.updated_at IS NULL
         OR o.updated_at >= e.platform_updated_at THEN {{true}} ELSE {{false}} END,
    CASE WHEN l.line_count IS NULL THEN {{false}} ELSE {{true}} END,
    o.name, c.id, o.email, COALESCE(o.created_at, e.created_at), o.processed_at, o.updated_at,
    o.cancelled_at, o.financial_status, o.currency,
    COALESCE(o.gross, l.gross, e.gross, 0), COALESCE(o.discounts, l.discounts, e.discounts, 0),
    COALESCE(o.refunds, l.refunds, e.refunds, 0),
    o.shipping, o.tax, o.total, o.discount_codes, o.source_name, o.referrer, o.landing_page,
    o.utm_source, o.utm_medium, o.utm_campaign, o.device_type, o.country, o.province, o.city,
    o.note_attributes, COALESCE(l.line_count, e.line_count, 0), COALESCE(l.units, e.units, 0),
    COALESCE(l.returns, 0)
FROM (
    SELECT platform_id, MAX(name) AS name, MAX(customer_platform_id) AS customer_platform_id,
        MAX(email) AS email, MIN(created_at) AS created_at, MAX(processed_at) AS processed_at,
        MAX(updated_at) AS updated_at, MAX(cancelled_at) AS cancelled_at,
        MAX(financial_status) AS financial_status, MAX(currency) AS currency,
        MAX(gross) AS gross, MAX(discounts) AS discounts, MAX(refunds) AS refunds,
        MAX(shipping) AS shipping, MAX(tax) AS tax, MAX(total) AS total,
        MAX(discount_codes) AS discount_codes, MAX(source_name) AS source_name,
        MAX(referrer) AS referrer, MAX(landing_page) AS landing_page,
        MAX(utm_source) AS utm_source, MAX(utm_medium) AS utm_medium,
        MAX(utm_campaign) AS utm_campaign, MAX(device_type) AS device_type,
        MAX(country) AS country, MAX(province) AS province, MAX(city) AS city,
        MAX(note_attributes) AS note_attributes
    FROM stg_orders GROUP BY platform_id
) o
LEFT JOIN ({LINE_TOTALS}) l ON l.order_platform_id = o.platform_id
LEFT JOIN orders e ON e.shop_id = :shop AND e.platform_id = o.platform_id
LEFT JOIN customers c ON c.shop_id = :shop AND c.platform_id = o.customer_platform_id
"""

# Orders from rows `s` of the merged values (rule 3), skipping any the stored row is newer than.
ORDERS_INSERT = f"""
INSERT INTO orders (shop_id, platform_id, name, customer_id, email, created_at, processed_at,
    platform_updated_at, cancelled_at, financial_status, currency, gross, discounts, refunds,
    net_revenue, shipping, tax, total, discount_codes, source_name, referrer, landing_page,
    utm_source, utm_medium, utm_campaign, device_type, country, province, city,
    note_attributes, line_count, units)
SELECT :shop, s.platform_id, s.name, s.customer_id, s.email, s.created_at, s.processed_at,
    s.updated_at, s.cancelled_at, s.financial_status, s.currency, s.gross, s.discounts,
    s.refunds, {NET.format(c="s.cancelled_at", g="s.gross", d="s.discounts", r="s.refunds")},
    s.shipping, s.tax, s.total, s.discount_codes, s.source_name, s.referrer, s.landing_page,
    s.utm_source, s.utm_medium, s.utm_campaign, s.device_type, s.country, s.province, s.city,
    s.note_attributes, s.line_count, s.units
"""
ORDERS_ON_CONFLICT = """
ON CONFLICT (shop_id, platform_id) DO UPDATE SET
    name = COALESCE(excluded.name, orders.name),
    customer_id = COALESCE(excluded.customer_id, orders.customer_id),
    email = COALESCE(excluded.email, orders.email),
    created_at = excluded.created_at, processed_at = excluded.processed_at,
    platform_updated_at = excluded.platform_updated_at, cancelled_at = excluded.cancelled_at,
    financial_status = excluded.financial_status, currency = excluded.currency,
    gross = excluded.gross, discounts = excluded.discounts, refunds = excluded.refunds,
    net_revenue = excluded.net_revenue, shipping = excluded.shipping, tax = excluded.tax,
    total = excluded.total, discount_codes = excluded.discount_codes,
    source_name = excluded.source_name, referrer = excluded.referrer,
    landing_page = excluded.landing_page, utm_source = excluded.utm_source,
    utm_medium = excluded.utm_medium, utm_campaign = excluded.utm_campaign,
    device_type = excluded.device_type, country = excluded.country,
    province = excluded.province, city = excluded.city,
    note_attributes = excluded.note_attributes, line_count = excluded.line_count,
    units = excluded.units
WHERE orders.platform_updated_at IS NULL OR excluded.platform_updated_at IS NULL
    OR excluded.platform_updated_at >= orders.platform_updated_at
"""

_UPSERT_ORDERS = f"""
{ORDERS_INSERT}
FROM stg_o s
WHERE s.accepted = {{true}}
ORDER BY s.platform_id
{ORDERS_ON_CONFLICT}
"""

_STG_L_DDL = {
    "sqlite": """CREATE TEMPORARY TABLE stg_l (order_id INTEGER, platform_id TEXT,
        product_id INTEGER, variant_id INTEGER, sku TEXT, title TEXT, quantity INTEGER,
        unit_price NUMERIC, discount NUMERIC, refunded_quantity INTEGER, fresh INTEGER)""",
    "postgresql": """CREATE TEMPORARY TABLE stg_l (order_id BIGINT, platform_id TEXT,
        product_id BIGINT, variant_id BIGINT, sku TEXT, title TEXT, quantity BIGINT,
        unit_price NUMERIC, discount NUMERIC, refunded_quantity BIGINT, fresh BOOLEAN)""",
}


def line_key(product_platform_id: str | None, variant_platform_id: str | None, rank: int) -> str:
    """The key of a line without a platform id: `<product>:<variant>:<rank>` (rule 4)."""
    return f"{product_platform_id or ''}:{variant_platform_id or ''}:{rank}"


# Lines staged without a key are ranked here (the loader keys most of them as it stages them);
# the ranking sorts, so it runs over the lines of the orders that have such lines only.
_FILL_STG_UNKEYED = """
INSERT INTO stg_unkeyed
SELECT DISTINCT order_platform_id FROM stg_lines
WHERE platform_id IS NULL AND order_platform_id IS NOT NULL
"""

# `line_key` in SQL: a staged line's rank among the staged lines of its order, product and variant.
RANKED_LINE_KEY = """COALESCE(product_platform_id, '') || ':' || COALESCE(variant_platform_id, '')
    || ':' || CAST(ROW_NUMBER() OVER (PARTITION BY order_platform_id, product_platform_id,
        variant_platform_id ORDER BY seq) AS TEXT)"""

_FILL_STG_L = f"""
INSERT INTO stg_l
SELECT d.id, l.line_key, p.id, v.id, l.sku, l.title, l.quantity, l.unit_price,
    COALESCE(l.discount, 0), COALESCE(l.refunded_quantity, 0),
    CASE WHEN s.existing_id IS NULL THEN {{true}} ELSE {{false}} END
FROM (
    SELECT order_platform_id, product_platform_id, variant_platform_id, sku, title, quantity,
        unit_price, discount, refunded_quantity, platform_id AS line_key
    FROM stg_lines
    WHERE NOT EXISTS (SELECT 1 FROM stg_unkeyed u WHERE u.order_platform_id = stg_lines.order_platform_id)
    UNION ALL
    SELECT order_platform_id, product_platform_id, variant_platform_id, sku, title, quantity,
        unit_price, discount, refunded_quantity,
        COALESCE(platform_id, {RANKED_LINE_KEY})
    FROM stg_lines
    WHERE EXISTS (SELECT 1 FROM stg_unkeyed u WHERE u.order_platform_id = stg_lines.order_platform_id)
) l
JOIN stg_o s ON s.platform_id = l.order_platform_id AND s.accepted = {{true}}
JOIN orders d ON d.shop_id = :shop AND d.platform_id = l.order_platform_id
LEFT JOIN products p ON p.shop_id = :shop AND p.platform_id = l.product_platform_id
LEFT JOIN variants v ON v.shop_id = :shop AND v.platform_id = l.variant_platform_id
"""

# Orders stored before this merge lose the lines they no longer have and update the others;
# the lines of new orders cannot conflict, and a plain INSERT is twice as fast on PostgreSQL.
_DELETE_REPLACED_LINES = """
DELETE FROM order_lines
WHERE shop_id = :shop
  AND order_id IN (SELECT DISTINCT order_id FROM stg_l WHERE fresh = {false})
  AND NOT EXISTS (SELECT 1 FROM stg_l s
                  WHERE s.order_id = order_lines.order_id AND s.platform_id = order_lines.platform_id)
"""

LINES_ON_CONFLICT = """
ON CONFLICT (order_id, platform_id) DO UPDATE SET
    product_id = excluded.product_id,
    variant_id = excluded.variant_id, sku = excluded.sku, title = excluded.title,
    quantity = excluded.quantity, unit_price = excluded.unit_price,
    discount = excluded.discount, refunded_quantity = excluded.refunded_quantity
"""

_INSERT_LINES = """
INSERT INTO order_lines (shop_id, order_id, platform_id, product_id, variant_id, sku, title,
    quantity, unit_price, discount, refunded_quantity)
SELECT :shop, order_id, platform_id, product_id, variant_id, sku, title, quantity, unit_price,
    discount, refunded_quantity
FROM stg_l WHERE fresh = {fresh}
ORDER BY order_id, platform_id
"""
_INSERT_FRESH_LINES = _INSERT_LINES.replace("{fresh}", "{true}")
_UPSERT_FRESH_LINES = _INSERT_FRESH_LINES + LINES_ON_CONFLICT
_UPSERT_LINES = _INSERT_LINES.replace("{fresh}", "{false}") + LINES_ON_CONFLICT


def analyze_outgrown(connection: Connection, incoming: dict[str, int]) -> None:
    """ANALYZE (PostgreSQL) the tables whose statistics this load leaves badly out of date: never
    analysed, or receiving more than half as many rows as the statistics count. A sync that
    stores a large shop batch after batch thus analyses while the tables are small, not after
    every batch (each ANALYZE of a large table costs a sample of 30,000 rows)."""
    growing = {table: rows for table, rows in incoming.items() if rows > 0}
    if not growing:
        return
    estimates = dict(
        connection.execute(
            text("SELECT relname, reltuples FROM pg_class WHERE oid = ANY(CAST(:tables AS regclass[]))"),
            {"tables": list(growing)},
        ).all()
    )
    stale = [t for t, rows in growing.items() if estimates.get(t, -1) < 0 or rows > 0.5 * estimates[t]]
    if stale:
        connection.exec_driver_sql(f"ANALYZE {', '.join(stale)}")


def _analyze_staged(connection: Connection, table: str) -> None:
    """ANALYZE (PostgreSQL) a staging table on a small sample: enough for the plans that follow."""
    connection.exec_driver_sql("SET LOCAL default_statistics_target = 10")
    connection.exec_driver_sql(f"ANALYZE {table}")
    connection.exec_driver_sql("RESET default_statistics_target")


def merge_staged(connection: Connection, shop_id: int) -> MergeCounts:
    """Move everything staged on `connection` into shop `shop_id`'s tables (see module doc)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Large loads hash-aggregate and hash-join in memory instead of spilling (this
        # transaction only).
        connection.exec_driver_sql("SET LOCAL work_mem = '128MB'")
    true, false = ("TRUE", "FALSE") if dialect == "postgresql" else ("1", "0")
    params = {"shop": shop_id}

    def run(sql: str) -> int:
        return connection.execute(
            text(sql.replace("{true}", true).replace("{false}", false)), params
        ).rowcount

    def scalar(sql: str) -> int:
        return int(connection.execute(text(sql)).scalar() or 0)

    staged_customers = scalar("SELECT COUNT(DISTINCT platform_id) FROM stg_customers")
    staged_products = scalar("SELECT COUNT(DISTINCT platform_id) FROM stg_products")
    staged_variants = scalar("SELECT COUNT(DISTINCT platform_id) FROM stg_variants")
    for statement in _STATEMENTS_BEFORE_ORDERS:
        # SQLite reads "INSERT ... SELECT ... ON CONFLICT" ambiguously without a WHERE or
        # GROUP BY before ON CONFLICT; every statement here has one.
        run(statement)
    staged_lines = scalar("SELECT COUNT(*) FROM stg_lines")
    staged_orders = scalar("SELECT COUNT(*) FROM stg_orders")
    large = staged_lines + staged_orders > 20_000
    if large and dialect == "postgresql":
        # Fresh statistics, so that the foreign-key checks of the rows below use the indexes
        # of tables that just grew (a first import would otherwise scan them row by row).
        analyze_outgrown(
            connection,
            {
                "customers": staged_customers + staged_orders,
                "products": staged_products + staged_lines,
                "variants": staged_variants + staged_lines,
            },
        )

    connection.exec_driver_sql("DROP TABLE IF EXISTS stg_o")
    connection.exec_driver_sql(_STG_O_DDL[dialect])
    run(_FILL_STG_O)
    if dialect == "postgresql":
        _analyze_staged(connection, "stg_o")
    run(_UPSERT_ORDERS)
    if large and dialect == "postgresql":
        analyze_outgrown(connection, {"orders": staged_orders})
    connection.exec_driver_sql("DROP TABLE IF EXISTS stg_l")
    connection.exec_driver_sql(_STG_L_DDL[dialect])
    connection.exec_driver_sql("DROP TABLE IF EXISTS stg_unkeyed")
    connection.exec_driver_sql("CREATE TEMPORARY TABLE stg_unkeyed (order_platform_id TEXT PRIMARY KEY)")
    run(_FILL_STG_UNKEYED)
    run(_FILL_STG_L)
    connection.exec_driver_sql("CREATE INDEX ix_stg_l_order ON stg_l (order_id, platform_id)")
    if dialect == "postgresql":
        _analyze_staged(connection, "stg_l")
    run(_DELETE_REPLACED_LINES)
    run(_UPSERT_LINES)
    try:
        with connection.begin_nested():
            run(_INSERT_FRESH_LINES)
    except IntegrityError:
        # A line given twice: do what the upsert does with it (PostgreSQL refuses the load,
        # SQLite keeps one of the two).
        run(_UPSERT_FRESH_LINES)

    row = connection.execute(
        text(
            f"""SELECT COUNT(*), SUM(CASE WHEN accepted = {true} THEN 0 ELSE 1 END),
                SUM(CASE WHEN accepted = {true} AND cancelled_at IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN accepted = {true} THEN returns ELSE 0 END)
            FROM stg_o"""
        )
    ).one()
    lines = scalar("SELECT COUNT(*) FROM stg_l")
    for table in ("stg_o", "stg_l", "stg_unkeyed"):
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    orders, stale = int(row[0] or 0), int(row[1] or 0)
    return MergeCounts(
        orders=orders - stale,
        stale_orders=stale,
        lines=lines,
        returns=int(row[3] or 0),
        cancelled=int(row[2] or 0),
        customers=staged_customers,
        products=staged_products,
        variants=staged_variants,
    )
