"""What every page of the service's own web answers with: HTML from the templates, JSON, and
the security headers both carry (shared by the upload page and the web chat)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

SECURITY_HEADERS: dict[str, str] = {
    # Everything is served from here: no CDN, no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    # An upload link's token is in the URL: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# The application's template environment, compiled once at start-up (``bot.web.setup_web``).
TEMPLATES = web.AppKey("web_templates", jinja2.Environment)


def template_env() -> jinja2.Environment:
    """The pages' templates (``bot/web/templates``), escaped as HTML, strict about missing names."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """The template ``name`` filled with ``context``, as an HTML page with the security headers."""
    html = request.app[TEMPLATES].get_template(name).render(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
    )


def json_response(data: dict[str, Any], status: int = 200) -> web.Response:
    """``data`` as JSON (Chinese kept readable, not escaped), with the security headers."""
    return web.json_response(
        data, status=status, headers=SECURITY_HEADERS, dumps=lambda d: json.dumps(d, ensure_ascii=False)
    )
