"""Privacy jobs: `apply_retention` erases a shop's raw personal data older than its retention period."""

from __future__ import annotations

from typing import Any

from cvo_plugin.services.retention import apply_retention as erase_older
from cvo_plugin.tasks import RETENTION_KIND
from jobs.runtime import current_settings, job_run


def apply_retention(shop_id: int) -> dict[str, Any]:
    """Erase what is older than the shop's retention period (`services.retention`)."""
    with job_run(RETENTION_KIND, shop_id) as run:
        with run.database.session() as session:
            summary = erase_older(session, shop_id, current_settings().data_retention_days)
        return summary.as_dict()
