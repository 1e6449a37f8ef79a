"""HTML pages for shoppers (placeholder until the consumer page lands)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["wants_page", "error_page"]


def wants_page(request: Request) -> bool:
    """Whether this request is a browser asking a public page (errors become friendly pages)."""
    return False


def error_page(request: Request, status: int, detail: str | None) -> Response:
    """A friendly error page."""
    return HTMLResponse(f"<h1>{status}</h1><p>{detail or ''}</p>", status_code=status)
