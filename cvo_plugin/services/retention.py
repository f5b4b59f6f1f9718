"""Data retention: raw personal data older than the shop's retention period is erased.

The period is `Shop.settings["privacy"]["retention_days"]` when the shop sets one, else the
server's `DATA_RETENTION_DAYS`; with neither, nothing is erased. Older than the cutoff (now less
the period), `apply_retention` erases:

- on orders created before it: e-mail, address, note attributes and visit URLs
  (`privacy.ORDER_PERSONAL`); totals, dates, lines and channels stay, so analytics are unchanged;
- on customers without an order since the cutoff and not updated since: name, e-mail, phone,
  address, tags and marketing consent (`privacy.CUSTOMER_PERSONAL`); the anonymous customer
  keeps its id, so its orders still count towards segments and CLV;
- webhook bodies still waiting (`webhook_payloads`) received before it;
- customer data exports (`privacy_requests.export`) prepared before it.

A customer who orders again later is simply a recent customer: a sync brings their details back.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, null, or_, select, update
from sqlalchemy.orm import Session

from cvo_plugin.models import Customer, Order, PrivacyRequest, Shop, WebhookDelivery, WebhookPayload
from cvo_plugin.services.privacy import CUSTOMER_PERSONAL, erase_order_personal

log = logging.getLogger(__name__)

SETTINGS_KEY = "privacy"
MAX_DAYS = 36_500


class RetentionError(ValueError):
    """A retention setting is invalid; the message says what is allowed."""


@dataclass(frozen=True)
class RetentionSummary:
    """What one pass erased: rows touched per kind of data."""

    days: int | None
    orders: int = 0
    customers: int = 0
    webhook_payloads: int = 0
    exports: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retention_days(shop: Shop, default: int | None) -> int | None:
    """The shop's retention period in days: its own setting, else `default` (None: keep)."""
    value = ((shop.settings or {}).get(SETTINGS_KEY) or {}).get("retention_days")
    return default if value is None else int(value)


def set_retention_days(shop: Shop, days: int | None) -> None:
    """Set (or with None, clear) the shop's own retention period; `RetentionError` when invalid."""
    valid = days is None or (isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_DAYS)
    if not valid:
        raise RetentionError(f"retention_days must be a whole number of days from 1 to {MAX_DAYS}, or empty.")
    settings = dict(shop.settings or {})
    privacy = dict(settings.get(SETTINGS_KEY) or {})
    if days is None:
        privacy.pop("retention_days", None)
    else:
        privacy["retention_days"] = days
    settings[SETTINGS_KEY] = privacy
    shop.settings = settings


def apply_retention(
    session: Session, shop_id: int, default_days: int | None, now: datetime | None = None
) -> RetentionSummary:
    """Erase the shop's raw personal data older than its retention period (the caller commits)."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return RetentionSummary(days=None)
    days = retention_days(shop, default_days)
    if days is None:
        return RetentionSummary(days=None)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)

    orders = erase_order_personal(session, shop_id, Order.created_at < cutoff)

    recent_order = exists().where(
        Order.shop_id == shop_id, Order.customer_id == Customer.id, Order.created_at >= cutoff
    )
    customer_values: dict[str, Any] = dict.fromkeys(CUSTOMER_PERSONAL)
    customer_values.update(tags=None, accepts_marketing=None)
    customers = session.execute(
        update(Customer)
        .where(
            Customer.shop_id == shop_id,
            ~recent_order,
            or_(Customer.platform_updated_at.is_(None), Customer.platform_updated_at < cutoff),
            or_(*(getattr(Customer, c).is_not(None) for c in (*CUSTOMER_PERSONAL, "tags"))),
        )
        .values(customer_values)
        .execution_options(synchronize_session=False)
    ).rowcount

    old_deliveries = select(WebhookDelivery.id).where(
        WebhookDelivery.shop_id == shop_id, WebhookDelivery.received_at < cutoff
    )
    payloads = session.execute(
        delete(WebhookPayload)
        .where(WebhookPayload.shop_id == shop_id, WebhookPayload.delivery_id.in_(old_deliveries))
        .execution_options(synchronize_session=False)
    ).rowcount

    exports = session.execute(
        update(PrivacyRequest)
        .where(
            PrivacyRequest.shop_id == shop_id,
            PrivacyRequest.received_at < cutoff,
            PrivacyRequest.export.is_not(None),
        )
        .values(export=null())
        .execution_options(synchronize_session=False)
    ).rowcount
    summary = RetentionSummary(days, orders, int(customers or 0), int(payloads or 0), int(exports or 0))
    log.info("retention: shop %s, %s days: %s", shop_id, days, summary.as_dict())
    return summary
