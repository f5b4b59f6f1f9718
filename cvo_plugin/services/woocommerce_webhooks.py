"""Receiving WooCommerce webhooks: signature, creation ping, duplicates, then the change itself.

Checks run in this order, and a refused delivery changes nothing:

1. the shop key in the URL names an active WooCommerce shop (else 404);
2. without `X-WC-Webhook-Signature`, only the creation ping (a form post `webhook_id=<id>`) is
   accepted, and nothing is stored; anything else unsigned is refused (401);
3. the signature is the base64 HMAC-SHA256 of the raw body under this shop's secret, compared
   in constant time (else 401: a delivery signed for another shop fails here too);
4. the body is a JSON object of the topic's shape (else 400);
5. `X-WC-Webhook-Delivery-ID` is recorded (`WebhookDelivery`, unique per shop and id) in the same
   transaction as the change: a second delivery of the same id changes nothing.

The change is applied at once through the one write path (no call to the store: a webhook must
not wait on the store's API). Updates older than what is stored are ignored by the merge.
What a payload cannot carry (the variations of a variable product, refunded units per line of a
newly refunded order, a variation whose product is not stored yet) is left to a sync of the
shop (`follow_up`), which reads everything modified since its last pass anyway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.woocommerce.mapping import (
    MappingError,
    customer_record,
    is_variable,
    is_variation,
    order_bundle,
    product_records,
)
from cvo_plugin.config import Settings
from cvo_plugin.crypto import TokenDecryptError
from cvo_plugin.models import WebhookDelivery
from cvo_plugin.records import CustomerRecord, OrderBundle, ProductRecord, VariantRecord
from cvo_plugin.security import SignatureError, verify_body_hmac
from cvo_plugin.services import woocommerce_data as data

TOPICS = (
    "order.created",
    "order.updated",
    "order.deleted",
    "product.updated",
    "product.deleted",
    "customer.updated",
)
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
DELIVERY_HEADER = "X-WC-Webhook-Delivery-ID"
WEBHOOK_HEADER = "X-WC-Webhook-ID"


class WebhookRejected(Exception):
    """A delivery refused: HTTP status, error code and a message that says what is wrong."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class WebhookOutcome:
    """What a delivery did: `ping`, `applied`, `unchanged` (stale or identical), `duplicate`
    (that delivery id was applied before) or `ignored` (a topic the app did not subscribe to)."""

    status: str
    shop_id: int
    topic: str | None = None
    resource_id: str | None = None
    follow_up: bool = False


def is_ping(body: bytes) -> bool:
    """Whether a body is WooCommerce's creation ping (`webhook_id=<digits>`, form-encoded)."""
    if len(body) > 64:
        return False
    try:
        fields = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    values = fields.get("webhook_id", [])
    return set(fields) == {"webhook_id"} and len(values) == 1 and values[0].isdigit()


def receive(
    session: Session, settings: Settings, shop_key: str, headers: Mapping[str, str], body: bytes
) -> WebhookOutcome:
    """Check one delivery and apply it in the caller's transaction (see the module doc)."""
    shop = data.shop_by_webhook_key(session, shop_key)
    if shop is None:
        raise WebhookRejected(404, "unknown_shop", "No connected WooCommerce store has this webhook address.")
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        if is_ping(body):
            return WebhookOutcome("ping", shop.id)
        raise WebhookRejected(401, "missing_signature", f"The {SIGNATURE_HEADER} header is missing.")
    try:
        secret = data.webhook_secret(settings, shop)
        verify_body_hmac(body, signature, [secret] if secret else [])
    except (SignatureError, TokenDecryptError):
        raise WebhookRejected(
            401, "invalid_signature", "The signature does not match this store's webhook secret."
        ) from None

    topic = (headers.get(TOPIC_HEADER) or "").strip().lower()
    delivery_id = (headers.get(DELIVERY_HEADER) or "").strip()
    if not delivery_id or len(delivery_id) > 100:
        raise WebhookRejected(400, "missing_delivery_id", f"The {DELIVERY_HEADER} header is missing.")
    if topic not in TOPICS:
        return WebhookOutcome("ignored", shop.id, topic or None)
    payload = _parse(body)
    try:
        change = _Change.of(topic, payload)
    except MappingError as exc:
        raise WebhookRejected(400, "invalid_payload", f"The {topic} payload is not valid: {exc}.") from None
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        # A field of the wrong type or shape (signed, so from the store or a leaked secret).
        raise WebhookRejected(
            400, "invalid_payload", f"The {topic} payload is not valid: {type(exc).__name__} in a field."
        ) from None

    delivery = WebhookDelivery(
        shop_id=shop.id,
        platform=data.PLATFORM,
        # Unique per platform: scoped by shop so two stores' delivery ids can never collide.
        delivery_id=f"{shop.id}:{delivery_id}",
        event_id=_text(headers.get(WEBHOOK_HEADER)),
        topic=topic,
        received_at=datetime.now(UTC),
        status="received",
    )
    try:
        with session.begin_nested():
            session.add(delivery)
            session.flush()
    except IntegrityError:
        return WebhookOutcome("duplicate", shop.id, topic, change.resource_id)
    changed, follow_up = change.apply(session, shop.id)
    delivery.status = "processed" if changed else "unchanged"
    delivery.processed_at = datetime.now(UTC)
    return WebhookOutcome(
        "applied" if changed else "unchanged", shop.id, topic, change.resource_id, follow_up=follow_up
    )


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:128] or None


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(400, "malformed_json", f"The body is not valid JSON ({exc}).") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "invalid_payload", "The body must be a JSON object.")
    return payload


@dataclass(frozen=True)
class _Change:
    """A mapped payload, ready to apply (mapping happens before anything is written)."""

    resource: str
    event: str
    resource_id: str
    payload: dict[str, Any]
    bundle: OrderBundle | None = None
    product: ProductRecord | None = None
    variants: tuple[VariantRecord, ...] = ()
    customer: CustomerRecord | None = None

    @classmethod
    def of(cls, topic: str, payload: dict[str, Any]) -> _Change:
        resource, _, event = topic.partition(".")
        value = payload.get("id")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise MappingError("it needs a positive numeric id")
        change = cls(resource, event, str(value), payload)
        if event == "deleted":
            return change
        if resource == "order":
            return replace(change, bundle=order_bundle(payload))
        if resource == "product":
            product, variants = product_records(payload)
            return replace(change, product=product, variants=tuple(variants))
        return replace(change, customer=customer_record(payload))

    @property
    def is_delete(self) -> bool:
        return self.event == "deleted" or self.payload.get("status") == "trash"

    def apply(self, session: Session, shop_id: int) -> tuple[bool, bool]:
        """Apply the change; returns (changed anything, needs a follow-up sync)."""
        if self.resource == "order":
            if self.is_delete:
                return data.remove_orders(session, shop_id, [self.resource_id]) > 0, False
            assert self.bundle is not None
            return _apply_order(session, shop_id, self.bundle)
        if self.resource == "product":
            if self.is_delete:
                return data.soft_delete_products(session, shop_id, [self.resource_id]) > 0, False
            follow_up = is_variable(self.payload)
            if is_variation(self.payload):
                parent = self.variants[0].product_platform_id
                follow_up = not data.product_stored(session, shop_id, parent)
            products = [self.product] if self.product is not None else []
            result = data.store_records(session, shop_id, products=products, variants=self.variants)
            return result.changed > 0, follow_up
        assert self.customer is not None
        return data.store_records(session, shop_id, customers=[self.customer]).changed > 0, False


def _apply_order(session: Session, shop_id: int, bundle: OrderBundle) -> tuple[bool, bool]:
    stored = data.stored_order(session, shop_id, bundle.order.platform_id)
    follow_up = False
    if bundle.order.refunds:
        # The payload has no refunded units per line: keep what a sync read, and let the next
        # sync read the refunds when they changed.
        known = data.stored_refunded_quantities(session, shop_id, bundle.order.platform_id)
        lines = tuple(
            line._replace(refunded_quantity=min(known.get(line.platform_id or "", 0), line.quantity))
            for line in bundle.lines
        )
        bundle = bundle._replace(lines=lines)
        follow_up = stored is None or stored.refunds != bundle.order.refunds
    result = data.store_records(session, shop_id, bundles=[bundle])
    return result.changed > 0, follow_up
