"""Security headers, the Content-Security-Policy, and the websocket origin check."""

from urllib.parse import urlsplit

from flask import Flask, Request, current_app

# No inline scripts or styles anywhere: htmx runs with eval and indicator styles off.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response):
    """Add the security headers every response carries."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["SECURE_COOKIES"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def origin_allowed(request: Request) -> bool:
    """Tell whether a websocket handshake comes from an allowed origin.

    Handshakes carry no CSRF token, so the Origin header is the only proof that our own
    pages opened the socket. Without ALLOWED_ORIGINS only the request's own host is allowed.
    """
    origin = request.headers.get("Origin")
    if not origin:
        return False
    allowed = current_app.config["ALLOWED_ORIGINS"]
    if allowed:
        return origin.rstrip("/") in {item.rstrip("/") for item in allowed}
    return urlsplit(origin).netloc == request.host


def init_app(app: Flask) -> None:
    """Apply the cookie settings and register the header hook."""
    secure = app.config["SECURE_COOKIES"]
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.after_request(set_security_headers)
