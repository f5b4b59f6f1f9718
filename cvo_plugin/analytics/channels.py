"""Acquisition channels: where each customer came from, and what each channel's customers are worth.

Channel of a customer
    Read from the customer's first completed order, first rule that applies:

    1. ``utm_source`` of the order, or the ``utm_source`` in its landing page's query string:
       normalised (lower case, ``www.`` and a trailing ``.com`` dropped, aliases such as
       ``fb`` -> ``facebook``); an e-mail ``utm_medium`` (email, e-mail, newsletter) gives
       ``email``;
    2. the referrer's host: search engines -> ``organic``, social networks -> their name
       (``facebook``, ``instagram``, ...), web mail -> ``email``, any other site -> ``referral``;
    3. the platform's source name: ``web`` (no referrer, no campaign) -> ``direct``, ``pos`` ->
       ``pos``, draft orders -> ``draft order``, numeric app ids -> ``other``, anything else
       normalised as in 1 (files give names such as ``google`` or ``email`` there);
    4. otherwise ``unknown``.

Channel metrics (per channel; money in the shop currency)
    ``customers`` acquired (all time) and their average LTV; ``spend`` = marketing spend of the
    channel; ``new_customers`` = customers acquired in the months the channel has spend for;
    ``CAC`` = spend / new_customers; ``LTV`` = the average LTV of those new customers;
    ``LTV:CAC`` = LTV / CAC, flagged ``below_1`` (the channel loses money) and ``below_3``
    (below the usual 3:1 target). LTV here is the caller's choice of value per customer (the
    job uses historic CLV + predicted 12-month value, both gross profit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import numpy as np

from cvo_plugin.analytics._arrays import float_array, int_array, safe_divide, same_length

UNKNOWN = "unknown"
MAX_CHANNEL = 64

ALIASES = {
    "fb": "facebook",
    "facebook ads": "facebook",
    "meta": "facebook",
    "ig": "instagram",
    "adwords": "google",
    "google ads": "google",
    "googleads": "google",
    "google_ads": "google",
    "tt": "tiktok",
    "x": "twitter",
    "t.co": "twitter",
    "e-mail": "email",
    "newsletter": "email",
    "klaviyo": "email",
    "mailchimp": "email",
}
SEARCH_ENGINES = ("google", "bing", "duckduckgo", "yahoo", "baidu", "yandex", "ecosia", "qwant", "brave")
SOCIAL = {
    "facebook": "facebook",
    "fb": "facebook",
    "instagram": "instagram",
    "tiktok": "tiktok",
    "pinterest": "pinterest",
    "twitter": "twitter",
    "x": "twitter",
    "t": "twitter",
    "linkedin": "linkedin",
    "lnkd": "linkedin",
    "youtube": "youtube",
    "reddit": "reddit",
    "snapchat": "snapchat",
}
WEBMAIL = ("mail.google.", "outlook.", "mail.yahoo.", "webmail.", "mail.")
EMAIL_MEDIUMS = {"email", "e-mail", "newsletter", "mail"}
PLATFORM_SOURCES = {
    "web": "direct",
    "pos": "pos",
    "shopify_draft_order": "draft order",
    "checkout": "direct",
    "admin": "draft order",
}


def normalize_channel(name: str | None) -> str | None:
    """A channel name in its canonical form (lower case, aliases resolved); None when empty."""
    if name is None:
        return None
    value = re.sub(r"\s+", " ", str(name).strip().lower())
    if not value:
        return None
    value = re.sub(r"^https?://", "", value)
    value = re.sub(r"^(www|m|l|lm)\.", "", value).rstrip("/")
    value = re.sub(r"\.com$", "", value)
    value = ALIASES.get(value, value)
    return value[:MAX_CHANNEL]


def _host(url: str) -> str:
    text = url.strip().lower()
    if "://" not in text:
        text = "//" + text
    try:
        return urlsplit(text).hostname or ""
    except ValueError:
        return ""


def _landing_utm(landing_page: str | None) -> tuple[str | None, str | None]:
    if not landing_page or "utm_" not in landing_page:
        return None, None
    try:
        query = parse_qs(urlsplit(landing_page.strip()).query)
    except ValueError:
        return None, None
    return (query.get("utm_source") or [None])[0], (query.get("utm_medium") or [None])[0]


def _from_referrer(referrer: str) -> str | None:
    host = _host(referrer)
    if not host:
        return None
    if any(host.startswith(prefix) for prefix in WEBMAIL):
        return "email"
    labels = [part for part in host.split(".") if part not in ("www", "m", "l", "lm")]
    for label in labels:
        if label in SEARCH_ENGINES:
            return "organic"
        if label in SOCIAL:
            return SOCIAL[label]
    return "referral"


def classify_channel(
    utm_source: str | None = None,
    utm_medium: str | None = None,
    referrer: str | None = None,
    landing_page: str | None = None,
    source_name: str | None = None,
) -> str:
    """The acquisition channel of one first order (rules in the module docstring)."""
    landing_source, landing_medium = _landing_utm(landing_page)
    source = utm_source or landing_source
    medium = (utm_medium or landing_medium or "").strip().lower()
    if medium in EMAIL_MEDIUMS:
        return "email"
    channel = normalize_channel(source)
    if channel:
        return channel
    if referrer and referrer.strip():
        found = _from_referrer(referrer)
        if found:
            return found
    name = (source_name or "").strip().lower()
    if name:
        if name in PLATFORM_SOURCES:
            return PLATFORM_SOURCES[name]
        if name.isdigit():
            return "other"
        return normalize_channel(name) or UNKNOWN
    return UNKNOWN


def classify_channels(
    utm_source: np.ndarray,
    utm_medium: np.ndarray,
    referrer: np.ndarray,
    landing_page: np.ndarray,
    source_name: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """Channel of many first orders: the rules run once per distinct combination of fields
    (found by hashing, one dictionary lookup per order).

    Parameters
    ----------
    utm_source, utm_medium, referrer, landing_page, source_name : object arrays, shape (n,)
        The attribution fields of each first order (None or '' when unknown).

    Returns
    -------
    codes : int64 array, shape (n,)
        Index into `labels` of each order's channel.
    labels : list of str
        The channel names, sorted.
    """
    columns = [
        np.asarray(c, dtype=object) for c in (utm_source, utm_medium, referrer, landing_page, source_name)
    ]
    same_length(**{f"column{i}": c for i, c in enumerate(columns)})
    n = len(columns[0])
    if n == 0:
        return np.zeros(0, np.int64), []
    # Distinct combinations by hashing (no fixed-width string arrays: URLs can be long).
    distinct: dict[tuple[object, ...], int] = {}
    combination = np.fromiter(
        (distinct.setdefault(fields, len(distinct)) for fields in zip(*columns, strict=True)),
        np.int64,
        count=n,
    )
    names = [classify_channel(*(str(v) if v else None for v in fields)) for fields in distinct]
    labels = sorted(set(names))
    position = {label: i for i, label in enumerate(labels)}
    per_distinct = np.array([position[name] for name in names], dtype=np.int64)
    return per_distinct[combination], labels


@dataclass(frozen=True)
class ChannelMetrics:
    """One entry per channel (index = channel code); money in the shop currency."""

    customers: np.ndarray
    avg_ltv: np.ndarray
    spend: np.ndarray
    spend_months: np.ndarray
    new_customers: np.ndarray
    cac: np.ndarray
    new_customer_ltv: np.ndarray
    ltv_cac: np.ndarray
    below_1: np.ndarray
    below_3: np.ndarray


def channel_metrics(
    channel: np.ndarray,
    n_channels: int,
    acquired_month: np.ndarray,
    ltv: np.ndarray,
    spend_channel: np.ndarray,
    spend_month: np.ndarray,
    spend_amount: np.ndarray,
) -> ChannelMetrics:
    """Customers, CAC, LTV and LTV:CAC per channel (definitions in the module docstring).

    Parameters
    ----------
    channel : int array, shape (n,)
        Acquisition channel code (0..n_channels-1) of each customer.
    n_channels : int
        Number of channel codes (channels with spend but no customers included).
    acquired_month : int array, shape (n,)
        Month of each customer's first order as ``year * 12 + month - 1``.
    ltv : float array, shape (n,)
        Value of each customer, shop currency.
    spend_channel, spend_month : int arrays, shape (k,)
        Channel code and month (``year * 12 + month - 1``) of each spend entry.
    spend_amount : float array, shape (k,)
        Amount spent, >= 0.
    """
    ch = int_array(channel, "channel")
    month = int_array(acquired_month, "acquired_month")
    value = float_array(ltv, "ltv")
    same_length(channel=ch, acquired_month=month, ltv=value)
    s_ch = int_array(spend_channel, "spend_channel")
    s_month = int_array(spend_month, "spend_month")
    amount = float_array(spend_amount, "spend_amount", nonnegative=True)
    same_length(spend_channel=s_ch, spend_month=s_month, spend_amount=amount)
    for name, codes in (("channel", ch), ("spend_channel", s_ch)):
        if codes.size and (codes.min() < 0 or codes.max() >= n_channels):
            raise ValueError(f"{name} codes must lie in 0..{n_channels - 1}")

    customers = np.bincount(ch, minlength=n_channels).astype(np.float64)
    spend = np.bincount(s_ch, weights=amount, minlength=n_channels)
    # A customer is "new" for CAC when acquired in a month the channel has spend for.
    funded = s_ch[amount > 0]
    funded_month = s_month[amount > 0]
    paid_pairs = np.unique(funded.astype(np.int64) * 1_000_000 + funded_month)
    spend_months = np.bincount(paid_pairs // 1_000_000, minlength=n_channels)
    in_paid = np.isin(ch.astype(np.int64) * 1_000_000 + month, paid_pairs)
    new_customers = np.bincount(ch[in_paid], minlength=n_channels).astype(np.float64)
    new_value = np.bincount(ch[in_paid], weights=value[in_paid], minlength=n_channels)
    cac = safe_divide(spend, new_customers)
    new_ltv = safe_divide(new_value, new_customers)
    ratio = np.where(spend > 0, np.where(new_customers > 0, safe_divide(new_ltv, cac), 0.0), np.nan)
    has_ratio = np.isfinite(ratio)
    return ChannelMetrics(
        customers=customers.astype(np.int64),
        avg_ltv=safe_divide(np.bincount(ch, weights=value, minlength=n_channels), customers),
        spend=spend,
        spend_months=spend_months.astype(np.int64),
        new_customers=new_customers.astype(np.int64),
        cac=cac,
        new_customer_ltv=new_ltv,
        ltv_cac=ratio,
        below_1=has_ratio & (np.nan_to_num(ratio, nan=np.inf) < 1.0),
        below_3=has_ratio & (np.nan_to_num(ratio, nan=np.inf) < 3.0),
    )


def month_index(day: np.ndarray) -> np.ndarray:
    """``year * 12 + month - 1`` of day numbers (days since 1970-01-01)."""
    months = np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]")
    return months.astype(np.int64) + 1970 * 12
