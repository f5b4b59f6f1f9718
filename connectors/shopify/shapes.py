"""The shapes of the order objects the connector reads, as `msgspec` structs.

They mirror the `OrderFields` and `LineItemFields` fragments (`queries/fragments/`). A bulk
export's order lines are decoded straight into them: faster than building dictionaries and
reading them back, and an object of another shape is refused with the field it got wrong. Pages
of the GraphQL API arrive as dictionaries and are converted (`order_node`, `line_item_node`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec


class Shape(msgspec.Struct, frozen=True):
    """A GraphQL object: fields the connector does not ask for are ignored."""


class Money(Shape):
    amount: str | None = None


class MoneyBag(Shape):
    shopMoney: Money | None = None  # noqa: N815 - Shopify's field names


class Ref(Shape):
    id: str | None = None


class Attribute(Shape):
    key: str
    value: str | None = None


class Address(Shape):
    city: str | None = None
    province: str | None = None
    countryCodeV2: str | None = None  # noqa: N815


class UtmParameters(Shape):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


class Visit(Shape):
    landingPage: str | None = None  # noqa: N815
    referrerUrl: str | None = None  # noqa: N815
    utmParameters: UtmParameters | None = None  # noqa: N815


class Journey(Shape):
    firstVisit: Visit | None = None  # noqa: N815


class OrderNode(Shape):
    """`OrderFields`."""

    id: str
    name: str | None = None
    createdAt: str | None = None  # noqa: N815
    updatedAt: str | None = None  # noqa: N815
    processedAt: str | None = None  # noqa: N815
    cancelledAt: str | None = None  # noqa: N815
    email: str | None = None
    displayFinancialStatus: str | None = None  # noqa: N815
    currencyCode: str | None = None  # noqa: N815
    sourceName: str | None = None  # noqa: N815
    discountCodes: list[str] = []  # noqa: N815, RUF012 - msgspec copies mutable defaults
    customAttributes: list[Attribute] = []  # noqa: N815, RUF012
    customer: Ref | None = None
    totalDiscountsSet: MoneyBag | None = None  # noqa: N815
    totalShippingPriceSet: MoneyBag | None = None  # noqa: N815
    totalTaxSet: MoneyBag | None = None  # noqa: N815
    totalPriceSet: MoneyBag | None = None  # noqa: N815
    shippingAddress: Address | None = None  # noqa: N815
    billingAddress: Address | None = None  # noqa: N815
    customerJourneySummary: Journey | None = None  # noqa: N815


class LineItemNode(Shape):
    """`LineItemFields`; `parent_id` is the bulk export's `__parentId`."""

    id: str
    quantity: int
    title: str | None = None
    sku: str | None = None
    vendor: str | None = None
    currentQuantity: int | None = None  # noqa: N815
    product: Ref | None = None
    variant: Ref | None = None
    originalUnitPriceSet: MoneyBag | None = None  # noqa: N815
    totalDiscountSet: MoneyBag | None = None  # noqa: N815
    parent_id: str | None = msgspec.field(default=None, name="__parentId")


def order_node(node: OrderNode | Mapping[str, Any]) -> OrderNode:
    """An order as `OrderNode` (a page's dictionary is converted)."""
    return node if isinstance(node, OrderNode) else msgspec.convert(node, OrderNode)


def line_item_node(node: LineItemNode | Mapping[str, Any]) -> LineItemNode:
    """A line item as `LineItemNode` (a page's dictionary is converted)."""
    return node if isinstance(node, LineItemNode) else msgspec.convert(node, LineItemNode)
