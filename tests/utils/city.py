"""A small generated city loaded into a fresh embedded store, for the tests that compare with its truth."""

from __future__ import annotations

from pathlib import Path

from generator import generate
from graph.store import open_store
from loaders.load import load_files

__all__ = ["load_city"]


def load_city(out: Path, *, scale: int, seed: int) -> str:
    """Generate a city into ``out/data`` and load every file but the truth into ``out/store.db`` (asserting that
    nothing is rejected); returns the store's path."""
    generate(out / "data", scale=scale, seed=seed)
    path = str(out / "store.db")
    files = [p for p in sorted((out / "data").rglob("*")) if p.is_file() and p.parent.name != "truth"
             and p.name != "manifest.json"]
    with open_store(path) as s:
        outcomes = load_files(s, files)
    assert [(o.path.name, o.rejects[:2]) for o in outcomes if o.error or o.rejects] == []
    return path
