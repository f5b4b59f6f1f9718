"""Every model, imported here so that `Base.metadata` (and Alembic) sees all tables."""

from cvo_plugin.models.admin import AdminLink
from cvo_plugin.models.commerce import Customer, Order, OrderLine, Product, Variant
from cvo_plugin.models.crosssell import (
    CrosssellBundle,
    CrosssellBundleItem,
    CrosssellHide,
    CrosssellPin,
    CrosssellProductStat,
    CrosssellRecommendation,
    CrosssellSet,
)
from cvo_plugin.models.inbox import WebhookPayload
from cvo_plugin.models.insights import AnalyticsSnapshot, AnalyticsSummary, CustomerScore, MarketingSpend
from cvo_plugin.models.privacy import PrivacyRequest
from cvo_plugin.models.shop import Shop
from cvo_plugin.models.sync import ImportRun, JobRun, SyncState, WebhookDelivery
from cvo_plugin.models.widget import SegmentTagState, SegmentTagWrite, WidgetEvent

__all__ = [
    "AdminLink",
    "CrosssellBundle",
    "CrosssellBundleItem",
    "CrosssellHide",
    "CrosssellPin",
    "CrosssellProductStat",
    "CrosssellRecommendation",
    "CrosssellSet",
    "AnalyticsSnapshot",
    "AnalyticsSummary",
    "Customer",
    "CustomerScore",
    "ImportRun",
    "JobRun",
    "MarketingSpend",
    "Order",
    "OrderLine",
    "PrivacyRequest",
    "Product",
    "SegmentTagState",
    "SegmentTagWrite",
    "Shop",
    "SyncState",
    "Variant",
    "WebhookDelivery",
    "WebhookPayload",
    "WidgetEvent",
]
