"""Customer meta through WooCommerce's `customers/batch` endpoint (up to 100 customers a call)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.woocommerce.client import WooClient

BATCH = 100
META_KEY = "cvo_segment"


@dataclass(frozen=True)
class MetaChange:
    """The segment to store on one customer (their WooCommerce id)."""

    customer_id: str
    segment: str


def write_batch(client: WooClient, changes: Sequence[MetaChange], key: str = META_KEY) -> list[str | None]:
    """Store each customer's segment in its meta `key`; per customer None or the store's error."""
    if not 1 <= len(changes) <= BATCH:
        raise ValueError(f"a batch holds 1 to {BATCH} customers")
    answer: Any = client.post(
        "customers/batch",
        {
            "update": [
                {"id": int(c.customer_id), "meta_data": [{"key": key, "value": c.segment}]} for c in changes
            ]
        },
    )
    updated = answer.get("update") if isinstance(answer, dict) else None
    by_id: dict[str, Any] = {str(item.get("id")): item for item in updated or () if isinstance(item, dict)}
    results: list[str | None] = []
    for change in changes:
        item = by_id.get(str(int(change.customer_id)))
        if item is None:
            results.append("the store did not answer for this customer")
        elif isinstance(item.get("error"), dict):
            results.append(str(item["error"].get("message") or item["error"].get("code")))
        else:
            results.append(None)
    return results
