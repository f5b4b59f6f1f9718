"""Finding and creating shops (tenants)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.models import Shop


class UnknownShopError(LookupError):
    """No shop with that domain or name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no shop named {name!r}; import data into it or install the app first")
        self.name = name


def normalize_shop_name(name: str) -> str:
    """Shop names and domains are compared lower-case, without scheme or trailing slash."""
    name = name.strip().lower()
    for prefix in ("https://", "http://"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = name.rstrip("/")
    if not name or len(name) > 255:
        raise ValueError("a shop name must have 1 to 255 characters")
    return name


def find_shop(session: Session, name: str) -> Shop | None:
    """The shop with this domain (any platform), or None."""
    return session.scalars(
        select(Shop).where(Shop.domain == normalize_shop_name(name)).order_by(Shop.id)
    ).first()


def get_shop(session: Session, name: str) -> Shop:
    """The shop with this domain; `UnknownShopError` when there is none."""
    shop = find_shop(session, name)
    if shop is None:
        raise UnknownShopError(name)
    return shop


def get_or_create_shop(
    session: Session, name: str, platform: str = "csv", currency: str | None = None
) -> Shop:
    """The shop with this domain, created (platform `csv` by default) when new."""
    shop = find_shop(session, name)
    if shop is None:
        shop = Shop(
            platform=platform,
            domain=normalize_shop_name(name),
            name=name.strip(),
            currency=currency or "USD",
            timezone="UTC",
            settings={},
            installed_at=datetime.now(UTC),
        )
        session.add(shop)
        session.flush()
    return shop


def delete_orders(session: Session, shop_id: int, platform_ids: list[str]) -> int:
    """Delete orders of a shop (and their lines, which carry no foreign key); returns how many."""
    from sqlalchemy import delete

    from cvo_plugin.models import Order, OrderLine

    if not platform_ids:
        return 0
    ids = select(Order.id).where(Order.shop_id == shop_id, Order.platform_id.in_(platform_ids))
    session.execute(delete(OrderLine).where(OrderLine.shop_id == shop_id, OrderLine.order_id.in_(ids)))
    result = session.execute(
        delete(Order).where(Order.shop_id == shop_id, Order.platform_id.in_(platform_ids))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_shop(session: Session, shop_id: int) -> None:
    """Delete a shop and everything it owns (lines, orders and scores first: they carry no
    foreign key)."""
    from sqlalchemy import delete

    from cvo_plugin.models import CustomerScore, Order, OrderLine

    session.execute(delete(OrderLine).where(OrderLine.shop_id == shop_id))
    session.execute(delete(Order).where(Order.shop_id == shop_id))
    session.execute(delete(CustomerScore).where(CustomerScore.shop_id == shop_id))
    session.execute(delete(Shop).where(Shop.id == shop_id))
