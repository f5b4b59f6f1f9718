"""Reading one shop's data into arrays for the analytics: a few set-based SELECTs, all by shop.

Every query filters by `shop_id` (lines also through their order's shop) and by creation time
before the end of the as-of day (UTC), so a computation as of a past day ignores later orders.
Money is read as float (the analytics compute in float64 and results are rounded at the edge);
times as Unix seconds. Where rows can be aggregated in SQL (lines per customer and product,
devices per customer) they are, so millions of lines arrive as far fewer rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    TableClause,
    and_,
    case,
    cast,
    column,
    func,
    select,
    table,
)
from sqlalchemy.orm import Session

from cvo_plugin.analytics.channels import month_index
from cvo_plugin.analytics.customers import completed_orders, first_orders
from cvo_plugin.models import (
    AnalyticsSnapshot,
    Customer,
    CustomerScore,
    MarketingSpend,
    Order,
    OrderLine,
    Product,
    Shop,
    Variant,
)

CHUNK = 200_000
SECONDS_PER_DAY = 86_400


def end_of_day(day: date) -> datetime:
    """The first instant after `day` (UTC): orders before it count."""
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def completed(order: type[Order] = Order) -> ColumnElement[bool]:
    """SQL form of `analytics.customers.completed_orders`: not cancelled, net revenue above zero."""
    return and_(order.cancelled_at.is_(None), order.net_revenue > 0)


def _epoch(column: Any, dialect: str) -> ColumnElement[int]:
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def _money(column: Any) -> ColumnElement[float]:
    return cast(column, Float)


def _compiled(session: Session, statement: Select[Any]) -> tuple[str, Any]:
    """SQL text and driver parameters of `statement`, converted by SQLAlchemy's bind processors
    (so times and money are bound exactly as everywhere else)."""
    dialect = session.connection().dialect
    compiled = statement.compile(dialect=dialect)
    params = {}
    for name, value in compiled.params.items():
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = processor(value) if processor is not None else value
    if compiled.positional:
        return str(compiled), tuple(params[name] for name in compiled.positiontup or ())
    return str(compiled), params


def _driver_rows(session: Session, query: tuple[str, Any]) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The rows of a compiled query in chunks, straight from the driver's cursor.

    Without a Python object per row in between this is several times faster for millions of
    rows; PostgreSQL streams them through a server-side cursor, so memory stays bounded.
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"cvo_load_{uuid.uuid4().hex[:12]}")  # type: ignore[union-attr]
        cursor.itersize = CHUNK
    else:
        cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(*query)
        while rows := cursor.fetchmany(CHUNK):
            yield rows
    finally:
        cursor.close()


def fetch_columns(session: Session, statement: Select[Any], kinds: Sequence[str]) -> list[np.ndarray]:
    """Run `statement` and return its columns as arrays.

    Kinds: 'i' int64 (NULL as -1), 'f' float64, 'F' float64 with NULL as NaN, 'o' object
    (strings). Rows are read in chunks so a shop with millions of rows is never held as one
    list; on PostgreSQL all-numeric results come through binary COPY, parsed by numpy.
    """
    if session.connection().dialect.name == "postgresql" and set(kinds) <= {"i", "f", "F"}:
        return _copy_numeric(session, statement, kinds)
    columns: list[list[np.ndarray]] = [[] for _ in kinds]
    for rows in _driver_rows(session, _compiled(session, statement)):
        for parts, values, kind in zip(columns, zip(*rows, strict=True), kinds, strict=True):
            parts.append(_as_array(values, kind))
    return [_joined(parts, _as_array((), kind).dtype) for parts, kind in zip(columns, kinds, strict=True)]


_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00"


def _parse_rows(buffer: bytearray, row: np.dtype, columns: list[list[np.ndarray]], header_done: bool) -> bool:
    """Move the whole rows at the start of `buffer` into per-column arrays (skipping the header)."""
    if not header_done:
        if len(buffer) < 19 or bytes(buffer[:11]) != _PGCOPY_HEADER:
            raise RuntimeError("unexpected COPY format from the database")
        del buffer[: 19 + int.from_bytes(buffer[15:19], "big")]
    whole = len(buffer) // row.itemsize * row.itemsize
    if whole:
        rows = np.frombuffer(bytes(buffer[:whole]), dtype=row)
        del buffer[:whole]
        width = len(columns)
        if np.any(rows["count"] != width) or any(np.any(rows[f"length{i}"] != 8) for i in range(width)):
            raise RuntimeError("unexpected row layout in the COPY stream")
        for i, parts in enumerate(columns):  # native byte order, so the block can be freed
            value = rows[f"value{i}"]
            parts.append(value.astype(value.dtype.newbyteorder("=")))
    return True


def _copy_numeric(session: Session, statement: Select[Any], kinds: Sequence[str]) -> list[np.ndarray]:
    """Numeric columns through `COPY ... TO STDOUT (FORMAT BINARY)`, parsed without a row loop.

    Every column is cast to int8 or float8 (NULL as -1 or NaN), so each row of the binary
    format has the same size: a 2-byte field count, then per field a 4-byte length and 8 bytes.
    """
    inner = statement.subquery()
    wrapped = select(
        *(
            cast(func.coalesce(column, -1), BigInteger)
            if kind == "i"
            else cast(func.coalesce(column, float("nan")), Float(precision=53))
            for column, kind in zip(inner.c, kinds, strict=True)
        )
    )
    sql, params = _compiled(session, wrapped)
    fields = [("count", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"length{i}", ">i4"), (f"value{i}", ">i8" if kind == "i" else ">f8")]
    row = np.dtype(fields)
    columns: list[list[np.ndarray]] = [[] for _ in kinds]
    buffer = bytearray()
    header_done = False
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
            for data in copy:  # one message per row: parse in blocks of about 1 MB
                buffer += data
                if len(buffer) >= 1 << 20:
                    header_done = _parse_rows(buffer, row, columns, header_done)
    _parse_rows(buffer, row, columns, header_done)
    if bytes(buffer) != b"\xff\xff":  # the trailer
        raise RuntimeError("the COPY stream ended unexpectedly")
    return [
        _joined(parts, np.int64 if kind == "i" else np.float64)
        for parts, kind in zip(columns, kinds, strict=True)
    ]


def _joined(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    """One array from blocks, freeing the blocks as it goes (one column at a time in memory twice)."""
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype)
    parts.clear()
    return joined


def _as_array(values: Sequence[Any], kind: str) -> np.ndarray:
    if kind == "i":
        return np.fromiter(values, dtype=np.int64, count=len(values))
    if kind == "f":
        return np.fromiter(values, dtype=np.float64, count=len(values))
    if kind == "F":
        return np.array(values, dtype=np.float64).reshape(-1)  # None becomes NaN
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of strings; None and blank become code -1."""
    text = np.where(np.equal(values, None), "", values).astype(str)
    text = np.char.strip(text)
    labels, codes = np.unique(text, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    if len(labels) and labels[0] == "":
        return codes - 1, [str(x) for x in labels[1:]]
    return codes, [str(x) for x in labels]


@dataclass(frozen=True)
class ShopData:
    """What a computation reads, as arrays (ids are database ids; customer -1 = a guest)."""

    shop_id: int
    currency: str
    timezone: str
    as_of: date
    # every order up to the as-of day
    order_id: np.ndarray
    order_customer: np.ndarray
    order_seconds: np.ndarray
    order_revenue: np.ndarray
    order_cancelled: np.ndarray
    order_discounted: np.ndarray
    order_lines: np.ndarray
    order_units: np.ndarray
    # completed orders per (customer, device)
    device_customer: np.ndarray
    device_code: np.ndarray
    device_orders: np.ndarray
    device_labels: list[str]
    # the lines of completed orders up to the as-of day
    line_order: np.ndarray
    line_customer: np.ndarray
    line_product: np.ndarray  # -1: no product
    line_variant: np.ndarray  # -1: no variant
    line_units: np.ndarray  # units sold (0 on return lines)
    line_revenue: np.ndarray  # quantity x price - refunded x price - discount
    line_gross: np.ndarray  # units sold x price
    # first completed order of each customer: its attribution fields and products
    first_customer: np.ndarray
    first_attribution: dict[str, np.ndarray]
    first_product_customer: np.ndarray
    first_product: np.ndarray
    # customers' places (reference tables are sorted by id)
    customer_id: np.ndarray
    customer_country: np.ndarray
    customer_city: np.ndarray
    country_labels: list[str]
    city_labels: list[str]
    # catalogue
    product_id: np.ndarray
    product_platform_id: np.ndarray
    product_title: np.ndarray
    product_type: np.ndarray
    variant_id: np.ndarray
    variant_product: np.ndarray
    variant_title: np.ndarray
    variant_cost: np.ndarray  # NaN where unknown
    # marketing spend
    spend_channel: np.ndarray
    spend_month: np.ndarray
    spend_amount: np.ndarray
    # the previous snapshot (for transitions), if any
    previous_snapshot: int | None
    previous_as_of: date | None
    previous_customer: np.ndarray
    previous_segment: np.ndarray
    previous_monetary: np.ndarray


Progress = Callable[[float, str], None]
ATTRIBUTION = ("utm_source", "utm_medium", "referrer", "landing_page", "source_name")
URL_CHARS = 512  # of referrers and landing pages: the host and the campaign parameters come first


def _with_temporary_ids(session: Session, name: str, ids: np.ndarray) -> TableClause:
    """A temporary table `name` (one column `id`) holding `ids`, on the session's connection."""
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} (id BIGINT PRIMARY KEY)")
    driver = connection.connection.driver_connection
    values = ids.tolist()
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {name} (id) FROM STDIN") as copy:
                for value in values:
                    copy.write_row((value,))
        connection.exec_driver_sql(f"ANALYZE {name}")  # so the planner joins it by hash
    else:
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(f"INSERT INTO {name} (id) VALUES (?)", [(v,) for v in values])
        finally:
            cursor.close()
    return table(name, column("id"))


def load_shop_data(session: Session, shop: Shop, as_of: date, progress: Progress | None = None) -> ShopData:
    """Everything the customer-value computation of `shop` as of `as_of` reads.

    Orders and lines come through plain per-shop scans; joining lines to their orders and
    finding each customer's first order happen in numpy, so the database does no large sort.
    """
    report = progress or (lambda fraction, message: None)
    dialect = session.get_bind().dialect.name
    shop_id = shop.id
    cutoff = end_of_day(as_of)

    report(0.0, "reading orders")
    orders = fetch_columns(
        session,
        select(
            Order.id,
            func.coalesce(Order.customer_id, -1),
            _epoch(Order.created_at, dialect),
            _money(Order.net_revenue),
            case((Order.cancelled_at.is_(None), 0), else_=1),
            case((Order.discounts > 0, 1), else_=0),
            Order.line_count,
            Order.units,
        ).where(Order.shop_id == shop_id, Order.created_at < cutoff),
        "iiifiiii",
    )
    order_id, order_customer, order_seconds, order_revenue = orders[:4]
    done = completed_orders(orders[4].astype(bool), order_revenue)

    report(0.3, "reading order lines")
    lines = fetch_columns(
        session,
        select(
            OrderLine.order_id,
            func.coalesce(OrderLine.product_id, -1),
            func.coalesce(OrderLine.variant_id, -1),
            case((OrderLine.quantity > 0, OrderLine.quantity), else_=0),
            _money(
                OrderLine.quantity * OrderLine.unit_price
                - OrderLine.refunded_quantity * OrderLine.unit_price
                - OrderLine.discount
            ),
            _money(case((OrderLine.quantity > 0, OrderLine.quantity * OrderLine.unit_price), else_=0)),
        ).where(OrderLine.shop_id == shop_id),
        "iiiiff",
    )
    by_id = np.argsort(order_id)
    position = take(by_id, positions(order_id[by_id], lines[0]), -1)
    keep = take(done, position, False)  # lines of completed orders in range
    position = position[keep]
    line_columns = [column[keep] for column in lines]
    del lines  # the unfiltered lines

    report(0.55, "reading first orders and devices")
    known = done & (order_customer >= 0)
    first_customer, first_order = first_orders(order_customer[known], order_seconds[known], order_id[known])
    first_ids = _with_temporary_ids(session, "cvo_first_orders", first_order)
    attribution = fetch_columns(
        session,
        select(
            Order.customer_id,
            Order.utm_source,
            Order.utm_medium,
            func.substr(Order.referrer, 1, URL_CHARS),
            func.substr(Order.landing_page, 1, URL_CHARS),
            Order.source_name,
        )
        .join(first_ids, first_ids.c.id == Order.id)
        .where(Order.shop_id == shop_id),
        "iooooo",
    )
    session.connection().exec_driver_sql("DROP TABLE IF EXISTS cvo_first_orders")
    in_first = np.isin(line_columns[0], first_order) & (line_columns[1] >= 0) & (line_columns[3] > 0)
    width = int(line_columns[1].max(initial=0)) + 1  # (customer, product) pairs as one key
    pairs = np.unique(order_customer[position][in_first] * width + line_columns[1][in_first])
    devices = fetch_columns(
        session,
        select(Order.customer_id, Order.device_type, func.count())
        .where(
            Order.shop_id == shop_id,
            Order.created_at < cutoff,
            completed(),
            Order.customer_id.is_not(None),
            Order.device_type.is_not(None),
        )
        .group_by(Order.customer_id, Order.device_type),
        "ioi",
    )
    device_code, device_labels = factorize(devices[1])

    report(0.75, "reading customers and the catalogue")
    customers = fetch_columns(
        session,
        select(Customer.id, Customer.country, Customer.city).where(Customer.shop_id == shop_id),
        "ioo",
    )
    customers = _by_id(customers)
    country_code, country_labels = factorize(customers[1])
    city_code, city_labels = factorize(customers[2])
    products = fetch_columns(
        session,
        select(Product.id, Product.platform_id, Product.title, Product.product_type).where(
            Product.shop_id == shop_id
        ),
        "iooo",
    )
    variants = fetch_columns(
        session,
        select(Variant.id, Variant.product_id, Variant.title, _money(Variant.cost)).where(
            Variant.shop_id == shop_id
        ),
        "iioF",
    )
    products, variants = _by_id(products), _by_id(variants)
    spend = fetch_columns(
        session,
        select(MarketingSpend.channel, MarketingSpend.month, _money(MarketingSpend.amount)).where(
            MarketingSpend.shop_id == shop_id
        ),
        "oof",
    )
    # one row per channel and month: a date (PostgreSQL) or its ISO text (SQLite)
    spend_days = np.array([(date.fromisoformat(str(m)) - date(1970, 1, 1)).days for m in spend[1]], np.int64)

    report(0.9, "reading the previous snapshot")
    previous = session.scalars(
        select(AnalyticsSnapshot)
        .where(
            AnalyticsSnapshot.shop_id == shop_id,
            AnalyticsSnapshot.status == "ready",
            AnalyticsSnapshot.as_of < as_of,
        )
        .order_by(AnalyticsSnapshot.as_of.desc(), AnalyticsSnapshot.id.desc())
        .limit(1)
    ).first()
    previous_rows: list[np.ndarray] = [np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0)]
    if previous is not None:
        previous_rows = fetch_columns(
            session,
            select(CustomerScore.customer_id, CustomerScore.segment, _money(CustomerScore.monetary)).where(
                CustomerScore.snapshot_id == previous.id, CustomerScore.shop_id == shop_id
            ),
            "iof",
        )
    report(1.0, "read")
    return ShopData(
        shop_id=shop_id,
        currency=shop.currency,
        timezone=shop.timezone or "UTC",
        as_of=as_of,
        order_id=order_id,
        order_customer=order_customer,
        order_seconds=order_seconds,
        order_revenue=order_revenue,
        order_cancelled=orders[4].astype(bool),
        order_discounted=orders[5].astype(bool),
        order_lines=orders[6],
        order_units=orders[7],
        device_customer=devices[0],
        device_code=device_code,
        device_orders=devices[2],
        device_labels=device_labels,
        line_order=line_columns[0],
        line_customer=order_customer[position],
        line_product=line_columns[1],
        line_variant=line_columns[2],
        line_units=line_columns[3],
        line_revenue=line_columns[4],
        line_gross=line_columns[5],
        first_customer=attribution[0],
        first_attribution=dict(zip(ATTRIBUTION, attribution[1:], strict=True)),
        first_product_customer=pairs // width,
        first_product=pairs % width,
        customer_id=customers[0],
        customer_country=country_code,
        customer_city=city_code,
        country_labels=country_labels,
        city_labels=city_labels,
        product_id=products[0],
        product_platform_id=products[1],
        product_title=products[2],
        product_type=products[3],
        variant_id=variants[0],
        variant_product=variants[1],
        variant_title=variants[2],
        variant_cost=variants[3],
        spend_channel=spend[0],
        spend_month=month_index(spend_days),
        spend_amount=spend[2],
        previous_snapshot=previous.id if previous is not None else None,
        previous_as_of=previous.as_of if previous is not None else None,
        previous_customer=previous_rows[0],
        previous_segment=previous_rows[1],
        previous_monetary=previous_rows[2],
    )


def take(values: np.ndarray, at: np.ndarray, missing: Any) -> np.ndarray:
    """``values[at]``, with `missing` where `at` is -1 (what `positions` gives for unknown ids)."""
    at = np.asarray(at, dtype=np.int64)
    if len(values) == 0:
        return np.full(len(at), missing, dtype=np.result_type(values.dtype, np.min_scalar_type(missing)))
    return np.where(at >= 0, values[np.maximum(at, 0)], missing)


def _by_id(columns: list[np.ndarray]) -> list[np.ndarray]:
    """Rows of a reference table (first column: the id) sorted by id, for `positions`."""
    order = np.argsort(columns[0], kind="stable")
    return [column[order] for column in columns]


def positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in `sorted_ids`, -1 where absent."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, np.int64)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == ids, at, -1)
