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

from typing import Any

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
    "CaseRowsError",
    "InvalidPeriod",
    "InsufficientData",
    "OverrideConflict",
    "PointsTableError",
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


class CaseRowsError(InvalidRecord):
    """Bad rows in the cases of an outbreak: ``rows`` lists each as {row, field, value, reason} (the message
    names them too)."""

    def __init__(self, message: str, rows: list[dict[str, Any]]):
        super().__init__(message)
        self.rows = rows


class InvalidPeriod(FoodtraceError, ValueError):
    """A reporting period that is not one (a bad date, or a start after its end)."""


class InsufficientData(FoodtraceError, ValueError):
    """Not enough labelled history to train or evaluate the failure-risk model."""


class OverrideConflict(FoodtraceError):
    """A grade override cannot be set (one is in force) or lifted (none is in force)."""


class PointsTableError(FoodtraceError, ValueError):
    """The grading points table is malformed; the message names the file and the key."""
