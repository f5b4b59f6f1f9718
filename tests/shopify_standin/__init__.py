"""A local stand-in for Shopify's Admin API (GraphQL on the real schema, OAuth, bulk exports,
throttling, signed webhooks) over a generated shop kept as plain Python data."""

from tests.shopify_standin.server import API_VERSION, ShopifyStandIn
from tests.shopify_standin.store import Store

__all__ = ["API_VERSION", "ShopifyStandIn", "Store"]
