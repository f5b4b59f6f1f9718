"""The `shopify-products-csv` format: Shopify's Products > Export file (PLATFORMS.md).

One row per variant, the product's own fields on its first row, plus image-only rows. A
product is keyed by its `Handle`; a variant by `<handle>:<SKU>` (or its option values when it
has no SKU). `Cost per item` becomes the variant cost (for margins); `Status` and `Published`
decide availability; the export carries no stock levels, so availability there is unknown.
Rows of one product must be adjacent, as Shopify writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cvo_plugin.imports import reader as r
from cvo_plugin.records import ProductRecord, VariantRecord

REQUIRED = ("Handle", "Title", "Variant Price")
STATUSES = {"active", "draft", "archived"}


def _variant(row: r.CsvRow, handle: str) -> VariantRecord | None:
    get = row.values.get
    price = get("Variant Price", "").strip()
    sku = r.text(get("Variant SKU", ""), "Variant SKU")
    options = [
        value
        for value in (get(f"Option{i} Value", "").strip() for i in (1, 2, 3))
        if value and value != "Default Title"
    ]
    if not price and not sku and not options:
        return None  # an image-only row
    key = sku or "/".join(options) or "default"
    return VariantRecord(
        platform_id=f"{handle}:{key}"[:64],
        product_platform_id=handle,
        title=" / ".join(options) or None,
        sku=sku,
        price=r.optional_decimal(price, "Variant Price"),
        compare_at_price=r.optional_decimal(get("Variant Compare At Price", ""), "Variant Compare At Price"),
        cost=r.optional_decimal(get("Cost per item", ""), "Cost per item"),
        image_url=r.text(get("Variant Image", ""), "Variant Image", max_length=2000),
    )


def read(
    path: str | Path, progress: r.ByteProgress | None = None
) -> Iterator[tuple[ProductRecord, list[VariantRecord]]]:
    """Yield each product with its variants; a bad row raises `ImportFormatError` with its line."""
    name = Path(path).name
    current: dict[str, object] | None = None
    variants: list[VariantRecord] = []
    seen: set[str] = set()

    def finish() -> tuple[ProductRecord, list[VariantRecord]]:
        assert current is not None
        return ProductRecord(**current), list(variants)  # type: ignore[arg-type]

    for row in r.read_csv(path, REQUIRED, progress):
        try:
            get = row.values.get
            handle = r.text(row.values["Handle"], "Handle", required=True)
            assert handle is not None
            if current is None or handle != current["platform_id"]:
                if current is not None:
                    yield finish()
                if handle in seen:
                    raise r.RowError(f"the rows of product {handle!r} are not adjacent")
                seen.add(handle)
                status = get("Status", "").strip().lower() or "active"
                if status not in STATUSES:
                    raise r.RowError(f"Status {status!r} is not one of active, draft, archived")
                published = get("Published", "").strip()
                current = {
                    "platform_id": handle,
                    "title": r.text(row.values["Title"], "Title", required=True, max_length=512),
                    "handle": handle,
                    "product_type": r.text(get("Type", ""), "Type"),
                    "vendor": r.text(get("Vendor", ""), "Vendor"),
                    "status": status,
                    "published": r.boolean(published, "Published") if published else None,
                    "tags": r.text(get("Tags", ""), "Tags", max_length=10_000),
                    "image_url": r.text(get("Image Src", ""), "Image Src", max_length=2000),
                    "url": f"/products/{handle}",
                }
                variants = []
            elif not current.get("image_url"):
                current["image_url"] = r.text(get("Image Src", ""), "Image Src", max_length=2000)
            variant = _variant(row, handle)
            if variant is not None:
                variants.append(variant)
        except r.RowError as exc:
            raise r.ImportFormatError(name, row.line, str(exc)) from None
    if current is not None:
        yield finish()
