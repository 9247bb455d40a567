"""Security headers and the limits that stop one phone from stuffing a counter's results."""
from __future__ import annotations

import hashlib

from flask import Flask, Response, current_app, request

from survey.extensions import limiter
from survey.public import bp as public_bp

# No inline script anywhere (pages work without JavaScript); inline style attributes are allowed
# because server-drawn bars and heat tables size themselves with them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def client_key() -> str:
    # Citizens at one centre often share its Wi-Fi address (and mobile carriers NAT thousands of
    # phones behind one); address plus browser signature separates phones well enough to slow a
    # stuffer without locking out a whole waiting room.
    agent = request.headers.get("User-Agent", "")
    digest = hashlib.sha256(agent.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{request.remote_addr}|{digest}"


def counter_key() -> str:
    return (request.view_args or {}).get("token", "")


def _stored(response: Response) -> bool:
    # Only stored answers count: a citizen fixing a validation error is not stuffing.
    return response.status_code == 303


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or current_app.config.get("FORCE_HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_security(app: Flask) -> None:
    app.after_request(add_security_headers)


# Limits live on the process-wide limiter and blueprint, so they are declared once, at import,
# not in every create_app() (which would stack a copy per app).
limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_CLIENT"], key_func=client_key,
              methods=["POST"], deduct_when=_stored, scope="submit-client")(public_bp)
limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_COUNTER"], key_func=counter_key,
              methods=["POST"], deduct_when=_stored, scope="submit-counter")(public_bp)
