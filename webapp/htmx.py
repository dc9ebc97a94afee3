"""One helper decides between an htmx fragment and the full page."""

from flask import make_response, render_template
from flask_htmx import HTMX

from webapp.extensions import htmx


def wants_fragment(request_htmx: HTMX = htmx) -> bool:
    """Tell whether this request should get a fragment: htmx, not boosted, not a history restore."""
    return (
        bool(request_htmx) and not request_htmx.boosted and not request_htmx.history_restore_request
    )


def render(page: str, fragment: str, status: int = 200, **context):
    """Render the fragment for an htmx request and the full page otherwise."""
    template = fragment if wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
