"""A generated demo store with the shape of a real one, written as the files a merchant imports.

The store sells coffee, tea and brewing gear. Its shape:

- a catalogue of product types with price tiers (consumables around 10-25, gear 25-180),
  variants, compare-at prices on some, and a cost per item for margins;
- customers of three kinds: one-off buyers (most), regulars and loyal repeat buyers, each
  acquired through one traffic source (search ads, social ads, e-mail, organic, referral,
  direct) that shapes how often and how long they buy;
- orders over two years ending at `end`, with a growing customer base, gaps between orders
  drawn per customer, and customers who stop buying (churn);
- baskets built from product affinities (a dripper with filters, tea with an infuser, ...),
  so "frequently bought together" has something true to find;
- returns (negative lines and refunded quantities) and cancelled orders.

Everything is drawn from one seeded generator, so the same seed and end date give the same files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

CATALOGUE: list[tuple[str, str, list[tuple[str, float]], float]] = [
    # (product type, vendor, [(title, price)], popularity weight)
    (
        "Coffee Beans",
        "Roastery North",
        [
            ("House Blend", 14.0),
            ("Colombia Huila", 16.0),
            ("Ethiopia Yirgacheffe", 18.0),
            ("Kenya AA", 21.0),
            ("Decaf Swiss Water", 15.0),
            ("Espresso Forte", 16.5),
            ("Guatemala Antigua", 17.0),
            ("Geisha Reserve", 38.0),
        ],
        10.0,
    ),
    (
        "Tea",
        "Leaf & Cup",
        [
            ("English Breakfast", 9.5),
            ("Earl Grey", 10.5),
            ("Sencha", 12.0),
            ("Chamomile", 8.5),
            ("Masala Chai", 11.0),
            ("Oolong Reserve", 19.0),
        ],
        5.0,
    ),
    (
        "Brewing Gear",
        "BrewLab",
        [
            ("Pour-Over Dripper", 29.0),
            ("Gooseneck Kettle", 79.0),
            ("French Press", 39.0),
            ("Burr Grinder", 149.0),
            ("Cold Brew Jar", 34.0),
            ("Espresso Tamper", 25.0),
            ("Digital Scale", 55.0),
            ("Milk Frother", 45.0),
            ("Moka Pot", 42.0),
        ],
        2.5,
    ),
    (
        "Filters",
        "BrewLab",
        [
            ("Paper Filters (100)", 7.0),
            ("Cloth Filter", 12.0),
            ("Cold Brew Filter Bags", 9.0),
        ],
        3.0,
    ),
    (
        "Tea Accessories",
        "Leaf & Cup",
        [
            ("Tea Infuser", 12.0),
            ("Glass Teapot", 35.0),
            ("Tea Tin", 14.0),
        ],
        1.5,
    ),
    (
        "Mugs",
        "Clay Studio",
        [
            ("Stoneware Mug", 22.0),
            ("Double-Wall Glass", 18.0),
            ("Travel Tumbler", 29.0),
            ("Espresso Cups (set of 2)", 24.0),
        ],
        2.0,
    ),
    (
        "Syrups",
        "Sweet Drop",
        [
            ("Vanilla Syrup", 11.0),
            ("Caramel Syrup", 11.0),
            ("Hazelnut Syrup", 11.0),
        ],
        1.5,
    ),
    (
        "Snacks",
        "Bakehouse",
        [
            ("Almond Biscotti", 8.0),
            ("Dark Chocolate Bar", 6.5),
            ("Shortbread Tin", 13.0),
        ],
        2.0,
    ),
]

# Pairs (by title) that sell together, with the chance the second joins a basket holding the first.
AFFINITIES: list[tuple[str, str, float]] = [
    ("Pour-Over Dripper", "Paper Filters (100)", 0.75),
    ("Pour-Over Dripper", "Gooseneck Kettle", 0.35),
    ("Gooseneck Kettle", "Digital Scale", 0.30),
    ("Burr Grinder", "Espresso Forte", 0.40),
    ("Cold Brew Jar", "Cold Brew Filter Bags", 0.70),
    ("French Press", "House Blend", 0.45),
    ("Moka Pot", "Espresso Forte", 0.50),
    ("Milk Frother", "Vanilla Syrup", 0.40),
    ("Espresso Forte", "Caramel Syrup", 0.12),
    ("Masala Chai", "Milk Frother", 0.10),
    ("Glass Teapot", "Tea Infuser", 0.55),
    ("Sencha", "Tea Infuser", 0.25),
    ("Oolong Reserve", "Glass Teapot", 0.20),
    ("Earl Grey", "Shortbread Tin", 0.20),
    ("English Breakfast", "Shortbread Tin", 0.18),
    ("Stoneware Mug", "Almond Biscotti", 0.22),
    ("Espresso Cups (set of 2)", "Espresso Tamper", 0.30),
    ("Colombia Huila", "Dark Chocolate Bar", 0.15),
]

SIZES = [("250g", 1.0), ("500g", 1.8), ("1kg", 3.3)]

# Traffic sources: (utm/source name, share of new customers, kind weights [one-off, regular, loyal])
SOURCES: list[tuple[str, float, tuple[float, float, float]]] = [
    ("google", 0.26, (0.62, 0.28, 0.10)),
    ("facebook", 0.22, (0.78, 0.17, 0.05)),
    ("instagram", 0.12, (0.74, 0.20, 0.06)),
    ("email", 0.10, (0.45, 0.35, 0.20)),
    ("organic", 0.14, (0.55, 0.30, 0.15)),
    ("referral", 0.06, (0.40, 0.35, 0.25)),
    ("direct", 0.10, (0.50, 0.32, 0.18)),
]

PLACES: list[tuple[str, str, float]] = [
    ("US", "New York", 0.12),
    ("US", "Los Angeles", 0.09),
    ("US", "Chicago", 0.07),
    ("US", "Austin", 0.05),
    ("US", "Seattle", 0.06),
    ("US", "Denver", 0.04),
    ("CA", "Toronto", 0.07),
    ("CA", "Vancouver", 0.04),
    ("GB", "London", 0.10),
    ("GB", "Manchester", 0.04),
    ("DE", "Berlin", 0.06),
    ("DE", "Munich", 0.03),
    ("FR", "Paris", 0.05),
    ("NL", "Amsterdam", 0.04),
    ("AU", "Sydney", 0.05),
    ("AU", "Melbourne", 0.03),
    ("IE", "Dublin", 0.02),
    ("SE", "Stockholm", 0.04),
]

# Per customer kind: mean orders after the first, mean days between orders, mean active days.
KINDS = {
    0: (0.15, 120.0, 60.0),  # one-off
    1: (2.5, 75.0, 320.0),  # regular
    2: (9.0, 32.0, 640.0),  # loyal
}

LINES_HEADER = [
    "order_id",
    "customer_id",
    "created_at",
    "product_id",
    "variant_id",
    "sku",
    "product_title",
    "product_type",
    "quantity",
    "unit_price",
    "refunded_quantity",
    "cancelled",
    "currency",
    "source",
    "country",
    "city",
    "email",
]


@dataclass(frozen=True)
class DemoVariant:
    handle: str
    title: str
    product_type: str
    vendor: str
    option: str | None
    sku: str
    price: Decimal
    compare_at: Decimal | None
    cost: Decimal

    @property
    def variant_id(self) -> str:
        return f"{self.handle}:{self.sku}"


@dataclass(frozen=True)
class DemoFiles:
    products_csv: Path
    lines_csv: Path
    spend_csv: Path
    customers: int
    orders: int
    lines: int


def _handle(title: str) -> str:
    keep = "".join(ch.lower() if ch.isalnum() else "-" for ch in title)
    return "-".join(part for part in keep.split("-") if part)


def build_catalogue(rng: np.random.Generator) -> list[DemoVariant]:
    """Every variant of the demo catalogue."""
    variants: list[DemoVariant] = []
    for product_type, vendor, items, _weight in CATALOGUE:
        for title, base in items:
            handle = _handle(title)
            sizes = SIZES if product_type == "Coffee Beans" else [(None, 1.0)]
            for index, (size, factor) in enumerate(sizes):
                price = Decimal(str(round(base * factor, 2))).quantize(Decimal("0.01"))
                on_sale = rng.random() < 0.25
                compare_at = (price * Decimal("1.25")).quantize(Decimal("0.01")) if on_sale else None
                margin = Decimal(str(round(float(rng.uniform(0.38, 0.62)), 2)))
                cost = (price * (1 - margin)).quantize(Decimal("0.01"))
                variants.append(
                    DemoVariant(
                        handle,
                        title,
                        product_type,
                        vendor,
                        size,
                        f"{handle[:12].upper()}-{index + 1}",
                        price,
                        compare_at,
                        cost,
                    )
                )
    return variants


def write_products_csv(path: Path, variants: list[DemoVariant], app_image_base: str = "") -> None:
    """The catalogue as Shopify's Products > Export file."""
    header = [
        "Handle",
        "Title",
        "Vendor",
        "Type",
        "Tags",
        "Published",
        "Option1 Name",
        "Option1 Value",
        "Variant SKU",
        "Variant Price",
        "Variant Compare At Price",
        "Image Src",
        "Cost per item",
        "Status",
    ]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        seen: set[str] = set()
        for v in variants:
            first = v.handle not in seen
            seen.add(v.handle)
            writer.writerow(
                [
                    v.handle,
                    v.title if first else "",
                    v.vendor if first else "",
                    v.product_type if first else "",
                    v.product_type.lower() if first else "",
                    "true" if first else "",
                    "Size" if v.option else "Title",
                    v.option or "Default Title",
                    v.sku,
                    f"{v.price}",
                    f"{v.compare_at}" if v.compare_at else "",
                    f"{app_image_base}/{v.handle}.svg" if first and app_image_base else "",
                    f"{v.cost}",
                    "active" if first else "",
                ]
            )


def generate(
    directory: Path,
    customers: int = 4000,
    end: date | None = None,
    seed: int = 7,
    years: float = 2.0,
    image_base: str = "",
) -> DemoFiles:
    """Write `products.csv` (Shopify products export) and `orders.csv` (lines-csv) for the demo."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    end = end or now.date()
    end_dt = min(datetime.combine(end, time(23, 59), UTC), now)
    span_days = int(365 * years)
    directory.mkdir(parents=True, exist_ok=True)

    variants = build_catalogue(rng)
    by_title: dict[str, list[int]] = {}
    for index, v in enumerate(variants):
        by_title.setdefault(v.title, []).append(index)
    type_weight = {t: w for t, _v, _i, w in CATALOGUE}
    titles = list(by_title)
    title_weights = np.array([type_weight[variants[by_title[t][0]].product_type] for t in titles])
    title_weights = title_weights * rng.uniform(0.4, 1.6, len(titles))
    title_weights /= title_weights.sum()
    affinity: dict[str, list[tuple[str, float]]] = {}
    for a, b, p in AFFINITIES:
        affinity.setdefault(a, []).append((b, p))
        affinity.setdefault(b, []).append((a, p * 0.5))

    products_csv = directory / "products.csv"
    write_products_csv(products_csv, variants, image_base)

    # Customers: acquisition day (the base grows over time), source, kind, place.
    acquired = np.sort(span_days - (rng.power(1.6, customers) * span_days)).astype(int)
    source_index = rng.choice(len(SOURCES), customers, p=[s[1] for s in SOURCES])
    kinds = np.array([rng.choice(3, p=SOURCES[s][2]) for s in source_index])
    place_p = np.array([p[2] for p in PLACES])
    places = rng.choice(len(PLACES), customers, p=place_p / place_p.sum())

    lines_csv = directory / "orders.csv"
    order_count = line_count = 0
    order_number = 1000
    with lines_csv.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(LINES_HEADER)
        for c in range(customers):
            mean_repeat, mean_gap, mean_life = KINDS[int(kinds[c])]
            life = rng.exponential(mean_life)
            first_day = int(acquired[c])
            days = [first_day]
            # Repeat buying varies within a kind too (a gamma-distributed factor, mean 1), as in real
            # shops: without it every customer drops out at the same rate and a BG/NBD fit of the
            # demo runs to the edge of its parameter space.
            for _ in range(rng.poisson(mean_repeat * rng.gamma(1.5, 1 / 1.5))):
                nxt = days[-1] + max(1, int(rng.gamma(2.0, mean_gap / 2.0)))
                if nxt - first_day > life or nxt > span_days:
                    break
                days.append(nxt)
            country, city, _w = PLACES[int(places[c])]
            customer_id = f"C{c + 1:05d}"
            email = f"customer{c + 1:05d}@demo.example"
            for n, day in enumerate(days):
                order_number += 1
                when = end_dt - timedelta(days=span_days - day)
                when = when.replace(hour=int(rng.choice(24, p=_HOURS)), minute=int(rng.integers(60)))
                if when > end_dt:
                    when = end_dt - timedelta(minutes=int(rng.integers(1, 600)))
                source = (
                    SOURCES[int(source_index[c])][0]
                    if n == 0
                    else str(
                        rng.choice(
                            ["email", "direct", "organic", SOURCES[int(source_index[c])][0]],
                            p=[0.4, 0.3, 0.15, 0.15],
                        )
                    )
                )
                basket = _basket(rng, titles, title_weights, affinity, loyal=kinds[c] == 2)
                cancelled = rng.random() < 0.02
                for title in basket:
                    choices = by_title[title]
                    v = variants[choices[int(rng.integers(len(choices)))]]
                    quantity = 1 + int(rng.random() < 0.18) + int(rng.random() < 0.05)
                    refunded = int(quantity if rng.random() < 0.03 else 0)
                    writer.writerow(
                        [
                            f"D{order_number}",
                            customer_id,
                            when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            v.handle,
                            v.variant_id,
                            v.sku,
                            v.title,
                            v.product_type,
                            quantity,
                            f"{v.price}",
                            refunded,
                            "true" if cancelled else "false",
                            "USD",
                            source,
                            country,
                            city,
                            email,
                        ]
                    )
                    line_count += 1
                if rng.random() < 0.015 and not cancelled:  # a later return of the first item
                    v = variants[by_title[basket[0]][0]]
                    writer.writerow(
                        [
                            f"D{order_number}",
                            customer_id,
                            when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            v.handle,
                            v.variant_id,
                            v.sku,
                            v.title,
                            v.product_type,
                            -1,
                            f"{v.price}",
                            0,
                            "false",
                            "USD",
                            source,
                            country,
                            city,
                            email,
                        ]
                    )
                    line_count += 1
                order_count += 1
    spend_csv = directory / "spend.csv"
    acquired_on = np.datetime64(end_dt.date(), "D") - (span_days - acquired).astype("timedelta64[D]")
    write_spend_csv(spend_csv, acquired_on, source_index, rng)
    return DemoFiles(products_csv, lines_csv, spend_csv, customers, order_count, line_count)


# What the demo shop pays per new customer on its paid channels (USD): search ads pay off, social
# ads barely, Instagram not at all, so the channels page has something to say.
PAID_CAC: dict[str, float] = {"google": 24.0, "facebook": 38.0, "instagram": 70.0, "email": 3.0}


def write_spend_csv(
    path: Path, acquired_on: np.ndarray, source_index: np.ndarray, rng: np.random.Generator
) -> None:
    """Marketing spend per paid channel and month (`channel,month,amount`): new customers x CAC."""
    months = acquired_on.astype("datetime64[M]")
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["channel", "month", "amount"])
        for index, (name, _share, _kinds) in enumerate(SOURCES):
            if name not in PAID_CAC:
                continue
            month_values, counts = np.unique(months[source_index == index], return_counts=True)
            noise = rng.uniform(0.8, 1.2, len(counts))
            for month, count, factor in zip(month_values, counts, noise, strict=True):
                amount = Decimal(str(round(float(count * PAID_CAC[name] * factor), 2)))
                writer.writerow([name, str(month), f"{amount:.2f}"])


# Purchase hours: a morning and an evening peak.
_HOURS = np.array([1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 7, 8, 7, 6, 6, 7, 8, 10, 11, 10, 7, 4, 2], float)
_HOURS /= _HOURS.sum()


def _basket(
    rng: np.random.Generator,
    titles: list[str],
    weights: np.ndarray,
    affinity: dict[str, list[tuple[str, float]]],
    loyal: bool,
) -> list[str]:
    size = 1 + rng.poisson(0.9 if loyal else 0.5)
    anchor = titles[int(rng.choice(len(titles), p=weights))]
    basket = [anchor]
    for title in list(basket):
        for other, p in affinity.get(title, []):
            if other not in basket and rng.random() < p:
                basket.append(other)
    while len(basket) < size:
        extra = titles[int(rng.choice(len(titles), p=weights))]
        if extra not in basket:
            basket.append(extra)
    return basket
