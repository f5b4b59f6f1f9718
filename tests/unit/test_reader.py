from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cvo_plugin.imports import reader as r


def test_timestamps_are_utc() -> None:
    assert r.timestamp("2024-01-05T10:00:00Z", "t") == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert r.timestamp("2024-01-05 10:00:00", "t") == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert r.timestamp("2024-01-05T10:00:00+02:00", "t") == datetime(2024, 1, 5, 8, tzinfo=UTC)
    assert r.timestamp("2023-05-31 23:06:05 -0700", "t", "%Y-%m-%d %H:%M:%S %z") == datetime(
        2023, 6, 1, 6, 6, 5, tzinfo=UTC
    )
    with pytest.raises(r.RowError, match="not a date"):
        r.timestamp("05/01/2024", "created_at")


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "1e400x", ""])
def test_bad_numbers(value: str) -> None:
    with pytest.raises(r.RowError):
        r.decimal(value, "unit_price")


def test_numbers() -> None:
    assert r.decimal(" 12.50 ", "p") == Decimal("12.50")
    with pytest.raises(r.RowError, match="negative"):
        r.decimal("-1", "p")
    assert r.decimal("-1", "p", allow_negative=True) == Decimal("-1")
    assert r.integer("2.0", "q") == 2
    with pytest.raises(r.RowError, match="whole number"):
        r.integer("2.5", "q")
    assert r.boolean("Yes", "b") is True and r.boolean("", "b") is False
    with pytest.raises(r.RowError):
        r.boolean("maybe", "b")
    assert r.currency("eur", "c") == "EUR"
    with pytest.raises(r.RowError):
        r.currency("EURO", "c")


def test_csv_rows_keep_their_first_line_number(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b'\xef\xbb\xbfa,b\n1,"two\nlines"\n\n3,4\n')
    rows = list(r.read_csv(path, ("a", "b")))
    assert [(row.line, row.values) for row in rows] == [
        (2, {"a": "1", "b": "two\nlines"}),
        (5, {"a": "3", "b": "4"}),
    ]


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(r.ImportFormatError, match=r"f.csv, line 3: 3 fields but the header has 2"):
        list(r.read_csv(path, ("a", "b")))
    path.write_bytes(b"a,b\n1,2\n\xff\xfe,4\n")
    with pytest.raises(r.ImportFormatError, match=r"line 3: not valid UTF-8"):
        list(r.read_csv(path, ("a", "b")))
    path.write_bytes(b"a\n1\n")
    with pytest.raises(r.ImportFormatError, match=r"line 1: missing required column\(s\): b"):
        list(r.read_csv(path, ("a", "b")))
    path.write_bytes(b"")
    with pytest.raises(r.ImportFormatError, match="empty"):
        list(r.read_csv(path, ("a",)))
