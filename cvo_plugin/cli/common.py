"""Helpers shared by the CLI commands: the database, shops, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask import current_app

from cvo_plugin.db import Database
from cvo_plugin.services.shops import UnknownShopError, get_shop


def database() -> Database:
    """The app's database (inside the CLI's app context)."""
    return current_app.extensions["cvo"]["db"]


def load_shop_id(name: str) -> int:
    """The id of shop `name`, or a clear CLI error."""
    with database().session() as session:
        try:
            return get_shop(session, name).id
        except UnknownShopError as exc:
            raise click.ClickException(str(exc)) from None


@contextmanager
def fraction_bar(label: str) -> Iterator[Callable[[float, str | None], None]]:
    """A progress bar fed with fractions 0..1 (what jobs report)."""
    with click.progressbar(length=1000, label=label, show_eta=True, file=sys.stderr) as bar:
        shown = 0

        def update(fraction: float, message: str | None = None) -> None:
            nonlocal shown
            target = int(fraction * 1000)
            if target > shown:
                bar.update(target - shown)
                shown = target

        yield update
