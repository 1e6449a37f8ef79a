"""The one typed settings object, read only at the edges (command line, service).

Every setting has a default and help text; each can be set by an environment
variable ``FOODTRACE_<NAME>``. The README lists them all (a test checks).

>>> Settings(store="x.db").store
'x.db'
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from loaders.base import ReadOptions

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
    worker_healthcheck: float = Field(60.0, gt=0, description=(
        "Seconds a worker of `foodtrace serve --workers N` may take to answer the supervisor's health check before "
        "it is killed and restarted (uvicorn's default, 5 s, killed workers busy building a trace index on a "
        "loaded machine, with the requests they held)"))
    capture_limit: int = Field(5000, ge=1, description=(
        "Most EPCIS events one capture request may hold (GS1-EPCIS-Capture-Limit); more is 413"))
    capture_file_size_limit: int = Field(50_000_000, ge=1, description=(
        "Largest capture or upload request body in bytes (GS1-EPCIS-Capture-File-Size-Limit); larger is 413"))
    trace_index: bool = Field(True, description=(
        "Each service worker holds an in-memory trace index (traces, recall lists and outbreak rankings from "
        "memory; rebuilt in the background when the store changes)"))
    public_rate: float = Field(600, ge=0, description=(
        "Public lookups (QR pages, Digital Links, QR images) a client address may make per minute, per worker "
        "process (429 beyond it); 0 = no limit"))
    public_burst: int = Field(120, ge=1, description="Public lookups a client may make at once before the rate applies")
    audit_live_days: int = Field(31, ge=1, description=(
        "Days of audit entries kept in the service database; older ones are moved to monthly archive files by "
        "`foodtrace audit-rotate`"))
    audit_retention_days: int = Field(400, ge=183, description=(
        "Days audit entries are kept in all (live and archived; at least 183, six months); older archive files "
        "are deleted by `foodtrace audit-rotate`"))
    audit_archive: str = Field("", description=(
        "Folder of the audit archive files (audit-YYYY-MM.jsonl.gz); empty = audit-archive beside the service "
        "database"))
    school_alerts: bool = Field(True, description=(
        "The service raises school alerts as the store changes and sends the webhook deliveries due (one worker at "
        "a time: the holder of the service database's alert lock; `foodtrace schools watch` does the same without "
        "the service)"))
    school_alert_poll: float = Field(0.25, gt=0, description=(
        "Seconds between two looks at the store's change sequence for new failing samples and due webhook deliveries"))
    webhook_timeout: float = Field(5.0, gt=0, description="Seconds a webhook receiver has to answer one POST")
    webhook_max_attempts: int = Field(8, ge=1, description=(
        "Attempts to deliver one alert to one webhook subscription before it is marked failed"))
    webhook_backoff: float = Field(10.0, ge=0, description=(
        "Seconds before the first retry of a failed webhook delivery; doubled at each further attempt (at most an hour)"))
    public_base_url: str = Field("", description=(
        "Base URL printed in QR codes and Digital Links (e.g. https://trace.nantong.gov.cn); "
        "empty = the URL the request came in on"))
    epcis_schema: str = Field("", description=(
        "GS1 EPCIS 2.0 JSON Schema file events are validated against; empty = the GS1 conformance copy beside "
        "the repository when present; a path that is no file = the loader's own checks only"))
    epcis_xsd: str = Field("", description=(
        "GS1 EPCIS 2.0 XML Schema (EPCglobal-epcis-2_0.xsd) for XML documents; empty = the conformance copy "
        "beside the repository when present"))
    epcis_processes: int = Field(0, ge=0, description=(
        "Most processes that derive one large EPCIS document (0 = the CPUs available; 1 = in the loading process)"))
    neo4j_user: str = Field("", validation_alias=AliasChoices("FOODTRACE_NEO4J_USER", "NEO4J_USER"), description=(
        "Neo4j user where the store URL names none (also read from NEO4J_USER)"))
    neo4j_password: str = Field("", validation_alias=AliasChoices("FOODTRACE_NEO4J_PASSWORD", "NEO4J_PASSWORD"),
                                description="Neo4j password where the store URL gives none (also read from "
                                            "NEO4J_PASSWORD)")
    neo4j_database: str = Field("", validation_alias=AliasChoices("FOODTRACE_NEO4J_DATABASE", "NEO4J_DATABASE"),
                                description="Neo4j database where the store URL has no ?database= (also read "
                                            "from NEO4J_DATABASE); empty = the server's default")

    session_idle_minutes: int = Field(30, ge=1, description=(
        "Console: a staff session ends after this many minutes without a request"))
    session_absolute_hours: float = Field(8, gt=0, description=(
        "Console: a staff session ends this many hours after sign-in, however busy"))
    signin_max_failures: int = Field(5, ge=1, description=(
        "Console: failed sign-ins of one user (within the lock period) that lock the account"))
    signin_lock_minutes: int = Field(15, ge=1, description=(
        "Console: how long a locked account stays locked; also the window failures are counted in "
        "(20 failures from one address in it throttle that address)"))
    oidc_issuer: str = Field("", description=(
        "Console single sign-on: the bureau's OpenID Connect issuer URL (its /.well-known/openid-configuration "
        "is read); empty = no single sign-on"))
    oidc_client_id: str = Field("", description="Console single sign-on: this application's client id")
    oidc_client_secret: str = Field("", description="Console single sign-on: this application's client secret")
    oidc_username_claim: str = Field("preferred_username", description=(
        "Console single sign-on: the ID token claim naming the staff account (created with `foodtrace users "
        "create --sso`)"))

    def store_options(self) -> dict[str, Any]:
        """The backend options of :func:`graph.store.open_store` (Neo4j credentials and database)."""
        return {k: v for k, v in (("user", self.neo4j_user), ("password", self.neo4j_password),
                                  ("database", self.neo4j_database)) if v}

    def webhook_options(self) -> dict[str, Any]:
        """How :meth:`api.webhooks.Webhooks.deliver_due` sends (time-out, attempts, back-off)."""
        return {"timeout": self.webhook_timeout, "max_attempts": self.webhook_max_attempts,
                "backoff": self.webhook_backoff}

    def read_options(self) -> ReadOptions:
        """How :mod:`loaders` read files (validation material, parallelism)."""
        return ReadOptions(epcis_schema=self.epcis_schema or None, epcis_xsd=self.epcis_xsd or None,
                           processes=self.epcis_processes or None)


def get_settings() -> Settings:
    """Settings from the environment."""
    return Settings()
