"""Error pages for browsers and error fragments for htmx requests."""

import logging

from flask import Flask, current_app, make_response, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp import database
from webapp.exceptions import ServiceError
from webapp.htmx import wants_fragment

logger = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    200: "Already done",
    409: "Not possible right now",
    413: "Too large",
    422: "Check your input",
    429: "Too many requests",
    500: "Something went wrong",
}

DEFAULT_MESSAGES = {
    400: "The request could not be understood. Reload the page and try again.",
    404: "There is nothing at this address, or you cannot see it.",
    405: "This address does not accept that kind of request.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "The server failed to handle this request. Nothing was changed; try again.",
}


def render_error(status: int, message: str):
    """Render an error page, or its fragment for an htmx request."""
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    body = render_template(
        template, status=status, title=TITLES.get(status, "Error"), message=message
    )
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def _message_for(error: HTTPException) -> str:
    if isinstance(error, RateLimitExceeded):
        return f"Too many attempts (the limit is {error.description}). Wait a minute and try again."
    code = error.code or 500
    description = error.description or ""
    # Werkzeug's default descriptions are written for developers, not for our users.
    default_description = type(error).description
    if code in DEFAULT_MESSAGES and (not description or description == default_description):
        return DEFAULT_MESSAGES[code]
    return description


def handle_http_error(error: HTTPException):
    """Render an HTTP error as a page, or a fragment, that explains it."""
    code = error.code or 500
    if code >= 500:
        database.rollback()
    response = render_error(code, _message_for(error))
    if code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_csrf_error(error: CSRFError):
    """Explain a missing or stale CSRF token (a 400)."""
    logger.info("CSRF check failed on %s %s: %s", request.method, request.path, error.description)
    return render_error(
        400, "This form has expired or was not sent from OpenMentor. Reload the page and try again."
    )


def handle_service_error(error: ServiceError):
    """Render a rejected action with its status and reason (views handle AlreadyDone themselves)."""
    database.rollback()
    logger.info("%s rejected with %s: %s", request.path, error.status, error.message)
    return render_error(error.status, error.message)


def handle_unexpected_error(error: Exception):
    """Roll back, log, and show a 500 page; under test the error is raised instead."""
    database.rollback()
    if current_app.testing:
        raise error
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500, DEFAULT_MESSAGES[500])


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
