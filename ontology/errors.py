"""One exception hierarchy for the whole system.

Every error a user can meet derives from :class:`FoodtraceError` and carries a
message the user can act on; the command line prints it without a traceback.

>>> try:
...     raise UnknownStoreScheme("ftp://x", ["sqlite", "neo4j"])
... except FoodtraceError as e:
...     print(e)
unknown store URL scheme 'ftp' in 'ftp://x'; known schemes: sqlite, neo4j (or a plain file path)
"""

from __future__ import annotations

__all__ = [
    "FoodtraceError",
    "InvalidIdentifier",
    "InvalidRecord",
    "UnreadableFile",
    "StoreError",
    "StoreUnavailable",
    "UnknownStoreScheme",
    "NotFound",
    "LotNotFound",
]


class FoodtraceError(Exception):
    """Base of every foodtrace error."""


class InvalidIdentifier(FoodtraceError, ValueError):
    """An identifier is malformed (bad syntax or check digit)."""


class InvalidRecord(FoodtraceError, ValueError):
    """A record breaks a rule of the data model."""


class UnreadableFile(FoodtraceError):
    """A file cannot be read or parsed at all (not JSON/XML/CSV/Excel, truncated ...)."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: cannot read: {reason}")


class StoreError(FoodtraceError):
    """A store operation failed."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or reached."""


class UnknownStoreScheme(StoreError):
    """A store URL names a scheme no backend handles."""

    def __init__(self, url: str, known: list[str]):
        scheme = url.split("://", 1)[0]
        super().__init__(
            f"unknown store URL scheme {scheme!r} in {url!r}; known schemes: {', '.join(known)} (or a plain file path)"
        )


class NotFound(FoodtraceError, LookupError):
    """No entity has the given identifier."""


class LotNotFound(NotFound):
    """No lot has the given identifier."""
