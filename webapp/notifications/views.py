"""The notifications page."""

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from webapp.notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index():
    """List the newest notifications and mark them read."""
    notifications = services.recent_for(current_user.id)
    unread_ids = {n.id for n in notifications if n.read_at is None}
    is_prefetch = request.headers.get("Sec-Purpose", "").startswith("prefetch")
    if notifications and unread_ids and not is_prefetch:
        services.mark_read(current_user.id, notifications[0].id)
    return render_template(
        "notifications/index.html", notifications=notifications, unread_ids=unread_ids
    )
