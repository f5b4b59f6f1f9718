"""`cvo demo`: build the demo store, compute everything, serve the app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cvo_plugin.cli.common import fraction_bar


@click.command("demo")
@click.option("--no-serve", is_flag=True, help="Stop after computing (do not start the web server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--customers", default=4000, show_default=True, type=click.IntRange(50, 2_000_000))
@click.option("--seed", default=7, show_default=True, type=int)
def demo(no_serve: bool, host: str, port: int, customers: int, seed: int) -> None:
    """Build the bundled demo store, import it, compute everything and serve the admin and a
    demo storefront page that loads the real widget."""
    from cvo_plugin import create_app, migrate
    from cvo_plugin.cli.admin import admin_link
    from cvo_plugin.db import get_database
    from cvo_plugin.runtime import get_settings
    from cvo_plugin.services.demo import DEMO_SHOP, build_demo_store
    from cvo_plugin.tasks import COMPUTE_STEPS, TaskQueue

    overrides = {} if os.environ.get("CVO_ENV") else {"CVO_ENV": "development"}
    if not os.environ.get("APP_URL"):
        overrides["APP_URL"] = f"http://{host}:{port}"
    app = create_app(overrides)
    with app.app_context():
        settings = get_settings()
        database = get_database()
        migrate.upgrade(settings.database_url)
        click.echo(f"database: {settings.database_url}")
        directory = Path(settings.instance_dir) / "demo"
        with click.progressbar(
            length=1, label="generating and importing the demo store", file=sys.stderr
        ) as bar:
            store = build_demo_store(
                database,
                directory,
                customers=customers,
                seed=seed,
                image_base=f"{settings.app_url}/static/demo",
            )
            bar.update(1)
        click.echo(store.products.describe())
        click.echo(store.orders.describe())
        # The demo computes in this process even when REDIS_URL is set: no worker is needed.
        queue = TaskQueue(settings.replace(redis_url=None), database)
        for step in COMPUTE_STEPS:
            with fraction_bar(step.label) as update:
                queue.enqueue(
                    step.func,
                    store.shop_id,
                    kind=step.kind,
                    queue=step.queue,
                    timeout=step.timeout,
                    listener=update,
                )
        click.echo("")
        click.echo(f"demo shop: {DEMO_SHOP} (id {store.shop_id})")
        click.echo(f"health:    {settings.app_url}/healthz")
        click.echo(f"admin:     {admin_link(DEMO_SHOP)}  (sign-in link: works once, 15 minutes)")
        click.echo(
            f"storefront: {settings.app_url}/demo/store/ (product pages and a cart with the real widget)"
        )
    if not no_serve:
        from werkzeug.serving import run_simple

        click.echo(f"serving on http://{host}:{port} (Ctrl+C to stop)")
        # Not app.run(): Flask refuses it inside its own CLI. Development server, one process.
        run_simple(host, port, app, threaded=True, use_reloader=False)


def register(cli: click.Group) -> None:
    cli.add_command(demo)
