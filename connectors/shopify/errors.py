"""The connector's small exception tree: every failure is one of four kinds, each saying what to do."""

from __future__ import annotations


class ShopifyError(Exception):
    """A call to Shopify failed; `request_id` is Shopify's X-Request-Id when there was a response."""

    def __init__(self, message: str, request_id: str | None = None, status: int | None = None) -> None:
        self.request_id = request_id
        self.status = status
        if request_id:
            message = f"{message} (Shopify request id {request_id})"
        super().__init__(message)


class AuthError(ShopifyError):
    """The token is invalid, revoked or lacks a scope: the shop must re-authorise (no retry helps)."""


class RateLimited(ShopifyError):
    """Still throttled after the retries allowed: try again later."""


class Transient(ShopifyError):
    """A timeout, a dropped connection or a 5xx that outlived the retries: try again later."""


class Permanent(ShopifyError):
    """A request Shopify will never accept as sent (bad query, user errors, 4xx): fix the caller."""
