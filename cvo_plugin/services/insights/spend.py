"""Marketing spend by channel and month: `cvo spend import SHOP FILE`.

The file is CSV with a header `channel,month,amount` (UTF-8): `month` is `YYYY-MM`, `amount` a
non-negative decimal in the shop currency, `channel` a channel name as the analytics show them
(case and common aliases are normalised: `Facebook Ads` and `fb` are `facebook`). Several rows
of one channel and month add up. The whole file is checked first: a bad row stops the import
with its line number and nothing is stored. Then the amount of each (channel, month) in the file
replaces the stored one, so importing the same file again changes nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvo_plugin.analytics.channels import normalize_channel
from cvo_plugin.imports import reader as r
from cvo_plugin.imports.reader import ImportFormatError
from cvo_plugin.models import MarketingSpend, Shop
from cvo_plugin.types import to_money

REQUIRED = ("channel", "month", "amount")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

__all__ = ["ImportFormatError", "SpendSummary", "import_spend", "import_spend_upload", "spend_by_month"]


@dataclass(frozen=True)
class SpendSummary:
    file_name: str
    rows: int
    entries: int
    inserted: int
    updated: int
    total: Decimal

    def describe(self) -> str:
        return (
            f"{self.file_name}: {self.rows} rows, {self.entries} channel-months "
            f"({self.inserted} new, {self.updated} replaced), total {self.total}"
        )


def _month(value: str) -> date:
    match = _MONTH.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise r.RowError(f"month {value.strip()!r} is not a month like 2024-03")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _channel(value: str) -> str:
    text = r.text(value, "channel", required=True, max_length=255)
    channel = normalize_channel(text)
    if not channel:
        raise r.RowError("channel is empty")
    return channel


def read_spend(path: str | Path) -> tuple[int, dict[tuple[str, date], Decimal]]:
    """Rows read and the amount per (channel, month); `ImportFormatError` on the first bad row."""
    amounts: dict[tuple[str, date], Decimal] = {}
    rows = 0
    with r.open_csv(path, REQUIRED) as table:
        index = {name: table.column(name) for name in REQUIRED}
        for line, fields in table.rows:
            try:
                key = (_channel(fields[index["channel"]]), _month(fields[index["month"]]))  # type: ignore[index]
                amount = r.decimal(fields[index["amount"]], "amount")  # type: ignore[index]
            except r.RowError as exc:
                raise ImportFormatError(table.name, line, str(exc)) from None
            amounts[key] = amounts.get(key, Decimal(0)) + amount
            rows += 1
        if rows == 0:
            raise ImportFormatError(table.name, None, "the file has a header but no rows")
    return rows, amounts


def import_spend(session: Session, shop: Shop, path: str | Path) -> SpendSummary:
    """Store a spend file for `shop` (the caller commits; nothing changes if the file is bad)."""
    rows, amounts = read_spend(path)
    stored = {
        (s.channel, s.month): s
        for s in session.scalars(select(MarketingSpend).where(MarketingSpend.shop_id == shop.id))
    }
    now = datetime.now(UTC)
    inserted = updated = 0
    for (channel, month), amount in sorted(amounts.items()):
        row = stored.get((channel, month))
        if row is None:
            session.add(
                MarketingSpend(
                    shop_id=shop.id, channel=channel, month=month, amount=to_money(amount), updated_at=now
                )
            )
            inserted += 1
        elif row.amount != to_money(amount):
            row.amount = to_money(amount)
            row.updated_at = now
            updated += 1
    session.flush()
    total = sum((to_money(a) for a in amounts.values()), Decimal("0.00"))
    return SpendSummary(Path(path).name, rows, len(amounts), inserted, updated, total)


def import_spend_upload(
    session: Session, shop: Shop, stream: IO[bytes], file_name: str, max_bytes: int = 2 * 1024 * 1024
) -> SpendSummary:
    """Store an uploaded spend file (the admin's form), with the same checks as `import_spend`."""
    name = (
        re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name or "spend.csv").name)[-100:].lstrip(".")
        or "spend.csv"
    )
    with tempfile.TemporaryDirectory(prefix="cvo-spend-") as directory:
        path = Path(directory) / name
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 64 * 1024)
        if path.stat().st_size > max_bytes:
            raise ImportFormatError(name, None, f"the file is larger than {max_bytes // 1024} KiB")
        return import_spend(session, shop, path)


def spend_by_month(session: Session, shop_id: int) -> list[dict[str, object]]:
    """The shop's stored spend, by channel and month."""
    rows = session.scalars(
        select(MarketingSpend)
        .where(MarketingSpend.shop_id == shop_id)
        .order_by(MarketingSpend.month, MarketingSpend.channel)
    ).all()
    return [{"channel": s.channel, "month": s.month.strftime("%Y-%m"), "amount": s.amount} for s in rows]
