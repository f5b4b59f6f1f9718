"""Webhook topics and their subscriptions (registered through GraphQL after install).

The mandatory compliance topics (`customers/data_request`, `customers/redact`, `shop/redact`)
are not subscribed through the API: they are declared in the app's configuration
(`shopify.app.toml` or the Partner Dashboard) with the same URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.shopify.client import GraphQLClient
from connectors.shopify.errors import Permanent

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})
PRODUCT_TOPICS = frozenset({"products/create", "products/update"})
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update"})
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
OTHER_TOPICS = frozenset({"refunds/create", "products/delete", "app/uninstalled", "bulk_operations/finish"})

SUBSCRIBED_TOPICS = ORDER_TOPICS | PRODUCT_TOPICS | CUSTOMER_TOPICS | OTHER_TOPICS
KNOWN_TOPICS = SUBSCRIBED_TOPICS | COMPLIANCE_TOPICS


def topic_enum(topic: str) -> str:
    """The GraphQL enum of a header topic (`orders/create` -> `ORDERS_CREATE`)."""
    return topic.replace("/", "_").upper()


@dataclass(frozen=True)
class SubscriptionReport:
    """What registering the webhooks did."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    kept: tuple[str, ...]


def ensure_subscriptions(
    client: GraphQLClient, uri: str, topics: frozenset[str] = SUBSCRIBED_TOPICS
) -> SubscriptionReport:
    """Subscribe `uri` to every topic: create what is missing, repoint what points elsewhere."""
    existing: dict[str, tuple[str, str]] = {}
    after = None
    while True:
        page = client.query("webhook_subscriptions", {"after": after})["webhookSubscriptions"]
        for node in page.get("nodes") or []:
            existing.setdefault(node["topic"], (node["id"], node.get("uri") or ""))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    created, updated, kept = [], [], []
    for topic in sorted(topics):
        enum = topic_enum(topic)
        if enum in existing:
            sub_id, current = existing[enum]
            if current == uri:
                kept.append(topic)
                continue
            result = client.query("webhook_subscription_update", {"id": sub_id, "uri": uri})
            _check(result["webhookSubscriptionUpdate"], topic)
            updated.append(topic)
            continue
        result = client.query("webhook_subscription_create", {"topic": enum, "uri": uri})
        _check(result["webhookSubscriptionCreate"], topic)
        created.append(topic)
    return SubscriptionReport(tuple(created), tuple(updated), tuple(kept))


def _check(payload: dict, topic: str) -> None:  # type: ignore[type-arg]
    errors = (payload or {}).get("userErrors") or []
    if errors:
        raise Permanent(f"Shopify refused the {topic} webhook: " + "; ".join(e["message"] for e in errors))
