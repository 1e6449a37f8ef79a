"""The one typed settings object, read only at the edges (command line, service).

Every setting has a default and help text; each can be set by an environment
variable ``FOODTRACE_<NAME>``. The README lists them all (a test checks).

>>> Settings(store="x.db").store
'x.db'
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """foodtrace settings (environment variables ``FOODTRACE_*``)."""

    model_config = SettingsConfigDict(env_prefix="FOODTRACE_", extra="ignore")

    store: str = Field("foodtrace.db", description=(
        "Store URL: a file path or sqlite:///relative.db / sqlite:////absolute.db for the embedded store"))
    rejects: str = Field("rejects.csv", description=(
        "Where `foodtrace load` writes the rejects CSV (relative to the working directory, never beside the input)"))
    demo_dir: str = Field("demo-out", description="Folder the demo writes its generated files and store into")
    demo_scale: int = Field(3000, description="Number of deliveries the demo generates")
    progress: bool = Field(True, description="Show progress bars on a terminal (never when output is piped)")
    service_db: str = Field("foodtrace-service.db", description=(
        "SQLite file of the API service: hashed API keys, the audit log and capture jobs"))
    host: str = Field("127.0.0.1", description="Address `foodtrace serve` listens on")
    port: int = Field(8000, description="Port `foodtrace serve` listens on")
    workers: int = Field(1, description="Worker processes of `foodtrace serve`")
    capture_limit: int = Field(5000, ge=1, description=(
        "Most EPCIS events one capture request may hold (GS1-EPCIS-Capture-Limit); more is 413"))
    capture_file_size_limit: int = Field(50_000_000, ge=1, description=(
        "Largest capture or upload request body in bytes (GS1-EPCIS-Capture-File-Size-Limit); larger is 413"))
    trace_index: bool = Field(True, description=(
        "Each service worker holds an in-memory trace index (traces, recall lists and outbreak rankings from "
        "memory; rebuilt in the background when the store changes)"))
    public_base_url: str = Field("", description=(
        "Base URL printed in QR codes and Digital Links (e.g. https://trace.nantong.gov.cn); "
        "empty = the URL the request came in on"))


def get_settings() -> Settings:
    """Settings from the environment."""
    return Settings()
