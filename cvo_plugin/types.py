"""Column types shared by every model: UTC-aware timestamps, exact money, portable ids and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")
MONEY_PRECISION = 14
MONEY_SCALE = 2


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text. Naive datetimes are refused on
    the way in, so local times can never slip into storage unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An amount in the shop's currency: `Numeric(14, 2)`, always `Decimal` in Python.

    SQLite has no decimal type: there the value is stored as REAL and quantized back to cents on
    read, which is exact for every amount below 10**13.
    """

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=False))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = to_money(value)
        return float(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return to_money(value)


def to_money(value: Decimal | float | int | str) -> Decimal:
    """Round to cents, half up, the way invoices do; floats go through `repr` to avoid noise."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")

intpk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
utc_ts = Annotated[datetime, mapped_column(UTCDateTime())]
money = Annotated[Decimal, mapped_column(Money())]
platform_id = Annotated[str, mapped_column(String(64))]
