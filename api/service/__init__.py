"""The foodtrace web service (FastAPI); start it with ``foodtrace serve``."""
