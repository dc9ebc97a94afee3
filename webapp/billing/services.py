"""The billing entry point for the timers loop: apply every due settlement and release."""

from __future__ import annotations

import logging
from datetime import datetime

from webapp.billing.invoices import settle_due_invoices
from webapp.billing.jobs import release_due_jobs

logger = logging.getLogger(__name__)


def apply_due_money(at: datetime) -> int:
    """Settle due invoices and release due freelance jobs, each at its own deadline.

    Each invoice and job gets its own transaction; returns how many were applied.
    """
    applied = settle_due_invoices(at) + release_due_jobs(at)
    if applied:
        logger.info("applied %s due settlements and releases at %s", applied, at.isoformat())
    return applied
