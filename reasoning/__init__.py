"""reasoning package."""
