"""Every model, imported here so that `Base.metadata` (and Alembic) sees all tables."""

from cvo_plugin.models.commerce import Customer, Order, OrderLine, Product, Variant
from cvo_plugin.models.insights import AnalyticsSnapshot, AnalyticsSummary, CustomerScore, MarketingSpend
from cvo_plugin.models.shop import Shop
from cvo_plugin.models.sync import ImportRun, JobRun, SyncState, WebhookDelivery

__all__ = [
    "AnalyticsSnapshot",
    "AnalyticsSummary",
    "Customer",
    "CustomerScore",
    "ImportRun",
    "JobRun",
    "MarketingSpend",
    "Order",
    "OrderLine",
    "Product",
    "Shop",
    "SyncState",
    "Variant",
    "WebhookDelivery",
]
