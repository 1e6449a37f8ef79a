"""Identifier forms and their canonical ids (contract; the full GS1 implementation follows)."""

from __future__ import annotations

__all__ = ["lookup_forms"]


def lookup_forms(identifier: str) -> list[str]:
    """Forms under which ``identifier`` may be stored: as given, then canonical."""
    return [identifier.strip()]
