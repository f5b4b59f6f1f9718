"""Privacy requests: a customer's data export, erasing a customer, erasing a shop.

- **Data request** (`customers/data_request`): the customer's data as the app stores it
  (profile, orders and their lines) is written to a `PrivacyRequest` row as JSON for the
  merchant to hand over (`privacy_requests` lists them); the log says only that it is ready.
- **Customer redaction** (`customers/redact`): name, e-mail, phone and address of the customer
  are erased, and on the customer's orders (and the orders named in the request) the e-mail,
  address, note attributes and visit URLs; totals, dates, lines and channels stay, anonymous.
  `redacted_at` keeps later syncs from writing the data back (`reapply_redactions` runs after
  every sync page and webhook batch), and earlier exports of that customer are erased too.
- **Shop redaction** (`shop/redact`, 48 hours after uninstall): the shop and all its data go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cvo_plugin.models import Customer, Order, OrderLine, PrivacyRequest, Shop
from cvo_plugin.services.shops import delete_shop

log = logging.getLogger(__name__)

CUSTOMER_PERSONAL = ("email", "first_name", "last_name", "phone", "country", "province", "city")
ORDER_PERSONAL = ("email", "country", "province", "city", "note_attributes", "referrer", "landing_page")


def _find_customer(session: Session, shop_id: int, platform_id: str | None) -> Customer | None:
    if not platform_id:
        return None
    return session.scalars(
        select(Customer).where(Customer.shop_id == shop_id, Customer.platform_id == platform_id)
    ).first()


def erase_order_personal(session: Session, shop_id: int, condition: Any) -> int:
    """Erase the personal fields (`ORDER_PERSONAL`) of the shop's orders matching `condition`."""
    values = dict.fromkeys(ORDER_PERSONAL)
    result = session.execute(
        update(Order)
        .where(Order.shop_id == shop_id, condition)
        .where(or_(*(getattr(Order, column).is_not(None) for column in ORDER_PERSONAL)))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def redact_customer(
    session: Session,
    shop_id: int,
    platform: str,
    customer_platform_id: str | None,
    order_ids: Iterable[str] = (),
) -> PrivacyRequest:
    """Erase one customer's personal data and record that it was done (the caller commits)."""
    now = datetime.now(UTC)
    order_ids = [str(o) for o in order_ids]
    customer = _find_customer(session, shop_id, customer_platform_id)
    if customer is not None:
        for column in CUSTOMER_PERSONAL:
            setattr(customer, column, None)
        customer.tags = None
        customer.accepts_marketing = None
        customer.redacted_at = now
        session.flush()
        erase_order_personal(session, shop_id, Order.customer_id == customer.id)
    if order_ids:
        erase_order_personal(session, shop_id, Order.platform_id.in_(order_ids))
    if customer_platform_id:
        session.execute(
            update(PrivacyRequest)
            .where(
                PrivacyRequest.shop_id == shop_id,
                PrivacyRequest.customer_platform_id == customer_platform_id,
                PrivacyRequest.export.is_not(None),
            )
            .values(export=None)
            .execution_options(synchronize_session=False)
        )
    record = PrivacyRequest(
        shop_id=shop_id,
        platform=platform,
        kind="customer_redact",
        customer_platform_id=customer_platform_id,
        order_ids=order_ids,
        status="completed",
        received_at=now,
        completed_at=now,
    )
    session.add(record)
    session.flush()
    log.info("privacy: customer redacted in shop %s (request %s)", shop_id, record.id)
    return record


def reapply_redactions(session: Session, shop_id: int) -> int:
    """Erase personal data that a sync or webhook wrote again onto a redacted customer's orders.

    Runs after every stored batch: the redacted customers are looked up first (usually none),
    so the orders are searched by customer through their index, never scanned.
    """
    redacted = session.scalars(
        select(Customer.id).where(Customer.shop_id == shop_id, Customer.redacted_at.is_not(None))
    ).all()
    if not redacted:
        return 0
    return erase_order_personal(session, shop_id, Order.customer_id.in_(list(redacted)))


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_export(
    session: Session, shop_id: int, customer_platform_id: str | None, order_ids: Iterable[str] = ()
) -> dict[str, Any]:
    """Everything the app stores about one customer, as JSON-ready data."""
    customer = _find_customer(session, shop_id, customer_platform_id)
    conditions = [Order.platform_id.in_([str(o) for o in order_ids])]
    if customer is not None:
        conditions.append(Order.customer_id == customer.id)
    orders = session.scalars(
        select(Order).where(Order.shop_id == shop_id, or_(*conditions)).order_by(Order.created_at)
    ).all()
    lines: dict[int, list[OrderLine]] = {}
    if orders:
        for line in session.scalars(
            select(OrderLine)
            .where(OrderLine.shop_id == shop_id, OrderLine.order_id.in_([o.id for o in orders]))
            .order_by(OrderLine.id)
        ):
            lines.setdefault(line.order_id, []).append(line)
    profile = None
    if customer is not None:
        profile = {c: getattr(customer, c) for c in ("platform_id", *CUSTOMER_PERSONAL, "tags")}
        profile.update(
            accepts_marketing=customer.accepts_marketing,
            created_at=_time(customer.platform_created_at),
            redacted_at=_time(customer.redacted_at),
        )
    return {
        "customer_id": customer_platform_id,
        "customer": profile,
        "orders": [
            {
                "order_id": o.platform_id,
                "name": o.name,
                "email": o.email,
                "created_at": _time(o.created_at),
                "cancelled_at": _time(o.cancelled_at),
                "currency": o.currency,
                "total": _money(o.total),
                "net_revenue": _money(o.net_revenue),
                "country": o.country,
                "province": o.province,
                "city": o.city,
                "source_name": o.source_name,
                "utm_source": o.utm_source,
                "utm_medium": o.utm_medium,
                "utm_campaign": o.utm_campaign,
                "lines": [
                    {
                        "title": line.title,
                        "sku": line.sku,
                        "quantity": line.quantity,
                        "unit_price": _money(line.unit_price),
                        "refunded_quantity": line.refunded_quantity,
                    }
                    for line in lines.get(o.id, [])
                ],
            }
            for o in orders
        ],
    }


def record_data_request(
    session: Session,
    shop_id: int,
    platform: str,
    customer_platform_id: str | None,
    order_ids: Iterable[str] = (),
    request_id: str | None = None,
) -> PrivacyRequest:
    """Prepare a customer's data export for the merchant (the caller commits)."""
    now = datetime.now(UTC)
    order_ids = [str(o) for o in order_ids]
    record = PrivacyRequest(
        shop_id=shop_id,
        platform=platform,
        kind="data_request",
        request_id=request_id,
        customer_platform_id=customer_platform_id,
        order_ids=order_ids,
        status="completed",
        export=customer_export(session, shop_id, customer_platform_id, order_ids),
        received_at=now,
        completed_at=now,
    )
    session.add(record)
    session.flush()
    log.info("privacy: data export %s ready for shop %s", record.id, shop_id)
    return record


def privacy_requests(session: Session, shop_id: int, limit: int = 100) -> list[PrivacyRequest]:
    """The shop's latest privacy requests, newest first (for the admin)."""
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.shop_id == shop_id)
            .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc())
            .limit(limit)
        )
    )


def redact_shop(session: Session, shop_id: int) -> bool:
    """Delete a shop and everything it owns; False when it is already gone."""
    if session.get(Shop, shop_id) is None:
        return False
    delete_shop(session, shop_id)
    log.info("privacy: shop %s and its data deleted", shop_id)
    return True
