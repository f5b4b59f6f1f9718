"""Importing order and product files into a shop, atomically per file.

The caller owns the transaction: a file either lands whole or, on the first bad row, not at
all (`ImportFormatError` names the file, line and reason).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cvo_plugin.imports import lines_csv, products_csv, shopify_csv
from cvo_plugin.imports.reader import ByteProgress, ImportFormatError
from cvo_plugin.ingest import Loader, MergeCounts, collector_paused
from cvo_plugin.models import ImportRun, Shop
from cvo_plugin.records import LineRecord, OrderRecord

ORDER_FORMATS: dict[str, Callable[..., Iterator[tuple[OrderRecord, LineRecord | None]]]] = {
    "lines-csv": lines_csv.read,
    "shopify-csv": shopify_csv.read,
}
PRODUCT_FORMATS = {"shopify-products-csv": products_csv.read}

__all__ = ["ImportFormatError", "ImportSummary", "import_orders", "import_products"]


@dataclass(frozen=True)
class ImportSummary:
    """What one file held and what its import changed."""

    file_name: str
    rows: int
    counts: MergeCounts

    def describe(self) -> str:
        c = self.counts
        parts = [f"{self.rows} rows", f"{c.orders} orders", f"{c.lines} lines"]
        if c.returns:
            parts.append(f"{c.returns} returned lines")
        if c.cancelled:
            parts.append(f"{c.cancelled} cancelled orders")
        if c.stale_orders:
            parts.append(f"{c.stale_orders} older than what is stored (skipped)")
        if c.products:
            parts.append(f"{c.products} products, {c.variants} variants")
        return f"{self.file_name}: " + ", ".join(parts)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_orders(
    session: Session,
    shop: Shop,
    path: str | Path,
    fmt: str,
    progress: ByteProgress | None = None,
) -> ImportSummary:
    """Stream an order file into `shop` (upserts; the same file twice changes nothing)."""
    if fmt not in ORDER_FORMATS:
        raise ValueError(f"unknown order format {fmt!r}; use one of {', '.join(ORDER_FORMATS)}")
    path = Path(path)
    started = datetime.now(UTC)
    with Loader(session, shop.id) as loader:
        with collector_paused():
            rows, currency = _stage_rows(loader, ORDER_FORMATS[fmt](path, progress))
        if rows == 0:
            raise ImportFormatError(path.name, None, "the file has a header but no rows")
        # A file whose orders' rows are together gives each order once with all its lines:
        # PostgreSQL merges that on the complete-orders path (`ingest.complete`); any other
        # file falls back to the general merge.
        counts = loader.merge(complete=True)
    if fmt == "shopify-csv":
        relink_catalogue(session, shop.id)
    if currency and shop.currency != currency and _is_new_shop_data(session, shop):
        shop.currency = currency
    _record(session, shop, path, fmt, rows, counts, started)
    return ImportSummary(path.name, rows, counts)


def _stage_rows(
    loader: Loader, rows: Iterator[tuple[OrderRecord, LineRecord | None]]
) -> tuple[int, str | None]:
    """Stage an order file's rows; (how many, the first currency given)."""
    count = 0
    currency: str | None = None
    last_order: OrderRecord | None = None
    for order, line in rows:
        count += 1
        # Consecutive rows of one order usually repeat its fields: stage them once.
        if order is not last_order and order != last_order:
            loader.add_orders((order,))
            last_order = order
            currency = currency or order.currency
        if line is not None:
            loader.add_line(line)
    return count, currency


def import_products(
    session: Session,
    shop: Shop,
    path: str | Path,
    fmt: str = "shopify-products-csv",
    progress: ByteProgress | None = None,
) -> ImportSummary:
    """Stream a product export into `shop` and link earlier imported order lines to it."""
    if fmt not in PRODUCT_FORMATS:
        raise ValueError(f"unknown product format {fmt!r}; use one of {', '.join(PRODUCT_FORMATS)}")
    path = Path(path)
    started = datetime.now(UTC)
    rows = 0
    with Loader(session, shop.id) as loader:
        for product, variants in PRODUCT_FORMATS[fmt](path, progress):
            rows += 1 + len(variants)
            loader.add_products((product,))
            loader.add_variants(variants)
        if rows == 0:
            raise ImportFormatError(path.name, None, "the file has a header but no products")
        counts = loader.merge()
    relink_catalogue(session, shop.id)
    _record(session, shop, path, fmt, rows, counts, started)
    return ImportSummary(path.name, rows, counts)


def _is_new_shop_data(session: Session, shop: Shop) -> bool:
    count = session.execute(select(ImportRun.id).where(ImportRun.shop_id == shop.id).limit(1)).first()
    return count is None


def _record(
    session: Session, shop: Shop, path: Path, kind: str, rows: int, counts: MergeCounts, started: datetime
) -> None:
    sha = _sha256(path)
    run = session.scalars(
        select(ImportRun).where(ImportRun.shop_id == shop.id, ImportRun.sha256 == sha, ImportRun.kind == kind)
    ).first()
    if run is None:
        run = ImportRun(shop_id=shop.id, kind=kind, sha256=sha, started_at=started)
        session.add(run)
    run.file_name = path.name
    run.rows = rows
    run.orders = counts.orders
    run.lines = counts.lines
    run.returns = counts.returns
    run.cancelled = counts.cancelled
    run.products = counts.products
    run.customers = counts.customers
    run.finished_at = datetime.now(UTC)
    session.flush()


_RELINK = [
    # Lines under a provisional product (`sku:` / `title:`) move to the catalogue product that
    # has a variant with that SKU, or a product with that title.
    """
    UPDATE order_lines SET
        variant_id = (SELECT MIN(v.id) FROM variants v JOIN products p ON p.id = v.product_id
                      WHERE v.shop_id = :shop AND v.sku = order_lines.sku
                        AND p.platform_id NOT LIKE 'sku:%' AND p.platform_id NOT LIKE 'title:%'),
        product_id = (SELECT MIN(v.product_id) FROM variants v JOIN products p ON p.id = v.product_id
                      WHERE v.shop_id = :shop AND v.sku = order_lines.sku
                        AND p.platform_id NOT LIKE 'sku:%' AND p.platform_id NOT LIKE 'title:%')
    WHERE shop_id = :shop AND sku IS NOT NULL
      AND product_id IN (SELECT id FROM products WHERE shop_id = :shop AND platform_id LIKE 'sku:%')
      AND EXISTS (SELECT 1 FROM variants v JOIN products p ON p.id = v.product_id
                  WHERE v.shop_id = :shop AND v.sku = order_lines.sku
                    AND p.platform_id NOT LIKE 'sku:%' AND p.platform_id NOT LIKE 'title:%')
    """,
    """
    UPDATE order_lines SET
        product_id = (SELECT MIN(p.id) FROM products p WHERE p.shop_id = :shop
                      AND p.title = order_lines.title AND p.platform_id NOT LIKE 'title:%'
                      AND p.platform_id NOT LIKE 'sku:%')
    WHERE shop_id = :shop
      AND product_id IN (SELECT id FROM products WHERE shop_id = :shop AND platform_id LIKE 'title:%')
      AND EXISTS (SELECT 1 FROM products p WHERE p.shop_id = :shop AND p.title = order_lines.title
                  AND p.platform_id NOT LIKE 'title:%' AND p.platform_id NOT LIKE 'sku:%')
    """,
    # Provisional products nothing points at any more are dropped.
    """
    DELETE FROM products WHERE shop_id = :shop
      AND (platform_id LIKE 'sku:%' OR platform_id LIKE 'title:%')
      AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.product_id = products.id)
    """,
]


def relink_catalogue(session: Session, shop_id: int) -> None:
    """Attach order lines imported before the catalogue to the catalogue's products."""
    for statement in _RELINK:
        session.execute(text(statement), {"shop": shop_id})
