"""WooCommerce routes: webhooks, the connect form and the first sync's progress."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from cvo_plugin.db import get_database, get_session
from cvo_plugin.runtime import get_settings
from cvo_plugin.services import woocommerce_status, woocommerce_webhooks
from cvo_plugin.services.woocommerce_connect import ConnectError, connect_woocommerce
from cvo_plugin.tasks import TaskQueue, enqueue_sync
from cvo_plugin.web.csrf import csrf_protect
from cvo_plugin.web.errors import ApiError
from cvo_plugin.web.session import sign_in, signed_in_shop_id

log = logging.getLogger(__name__)

bp = Blueprint("woocommerce", __name__, url_prefix="/woocommerce")


def _queue() -> TaskQueue:
    return TaskQueue(get_settings(), get_database())


@bp.post("/webhooks/<shop_key>")
def webhook(shop_key: str) -> tuple[Response, int]:
    """Every WooCommerce webhook topic (and the creation ping) of one store."""
    body = request.get_data(cache=True, parse_form_data=False)  # the raw bytes that were signed
    session = get_session()
    try:
        outcome = woocommerce_webhooks.receive(session, get_settings(), shop_key, request.headers, body)
    except woocommerce_webhooks.WebhookRejected as exc:
        session.rollback()
        raise ApiError(exc.code, exc.message, exc.status) from None
    session.commit()
    queue = _queue()
    if outcome.follow_up and queue.is_async:
        # A sync reads what the payload lacks; without Redis it waits for the next scheduled sync
        # rather than calling the store inside this request.
        try:
            enqueue_sync(queue, outcome.shop_id, "woocommerce")
        except Exception:  # noqa: BLE001 - the delivery is stored; the scheduled sync catches up
            log.warning("could not queue a follow-up sync for shop %s", outcome.shop_id)
    return jsonify(status=outcome.status, topic=outcome.topic, id=outcome.resource_id), 200


@bp.route("/connect", methods=["GET", "POST"])
@csrf_protect
def connect() -> Any:
    """The form that connects a store with its REST API keys."""
    if request.method == "GET":
        return render_template("woocommerce/connect.html", values={}, errors={})
    values = {name: request.form.get(name, "").strip() for name in ("url", "key")}
    try:
        result = connect_woocommerce(
            get_database(),
            get_settings(),
            values["url"],
            values["key"],
            request.form.get("secret", ""),
            queue=_queue(),
        )
    except ConnectError as exc:
        errors = {exc.field or "form": exc.message}
        return render_template("woocommerce/connect.html", values=values, errors=errors), 400
    sign_in(result.shop_id)
    return redirect(url_for("woocommerce.connected"), code=303)


def _signed_in_shop() -> int | None:
    shop_id = signed_in_shop_id()
    if shop_id is None:
        return None
    return shop_id if woocommerce_status.is_woocommerce_shop(get_session(), shop_id) else None


@bp.get("/connected")
def connected() -> Any:
    """The connected store and its backfill's live progress."""
    shop_id = _signed_in_shop()
    if shop_id is None:
        return redirect(url_for("woocommerce.connect"))
    status = woocommerce_status.connection_status(get_session(), _queue(), shop_id)
    return render_template("woocommerce/connected.html", status=status)


@bp.get("/status")
def status() -> Response:
    """The signed-in store's sync progress as JSON (polled by the progress page)."""
    shop_id = _signed_in_shop()
    if shop_id is None:
        raise ApiError("unauthorized", "Sign in to a connected WooCommerce store first.", 401)
    response = jsonify(woocommerce_status.connection_status(get_session(), _queue(), shop_id))
    response.headers["Cache-Control"] = "no-store"
    return response
