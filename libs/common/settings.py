"""Every knob of every service, read once from the environment (prefix ``ACOUSTID_``).

One place for settings means an operator reads one table (README) and a service never
invents its own variable. Each field also reads ``ACOUSTID_<NAME>_FILE`` when the plain
variable is unset, as the original does for secrets mounted by Docker/Kubernetes.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from libs.common.client_address import parse_networks

ENV_PREFIX = "ACOUSTID_"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
DEV_WEBSITE_SECRET = "dev-secret-change-me"


class SettingsError(RuntimeError):
    """A setting has a value the service cannot start with; the message names the variable."""


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Databases (asyncpg URLs). The API's and website's reads go to the *_ro URL when set.
    app_database_url: str = Field(f"{DEFAULT_PG}/acoustid_app", description="app database")
    fingerprint_database_url: str = Field(
        f"{DEFAULT_PG}/acoustid_fingerprint", description="fingerprint database"
    )
    ingest_database_url: str = Field(f"{DEFAULT_PG}/acoustid_ingest", description="ingest database")
    musicbrainz_database_url: str = Field(
        "",
        description="database holding the MusicBrainz tables (schema musicbrainz); empty: the"
        " app database",
    )
    app_database_url_ro: str = Field(
        "", description="read replica of the app database for API key checks; empty: the primary"
    )
    fingerprint_database_url_ro: str = Field(
        "", description="read replica of the fingerprint database for lookups; empty: the primary"
    )
    ingest_database_url_ro: str = Field(
        "", description="read replica of the ingest database; empty: the primary"
    )
    database_pool_size: int = Field(10, ge=1, description="connections per engine")
    database_pool_timeout: float = Field(2.0, gt=0, description="seconds to wait for a connection")

    # Redis and NATS.
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis server")
    redis_max_connections: int = Field(
        50, ge=1, description="Redis connections per process; more requests wait for one"
    )
    redis_prefix: str = Field("acoustid:", description="prefix of every Redis key we write")
    stats_flush_interval: float = Field(
        1.0, gt=0, description="seconds the API sums lookup counters in memory before Redis"
    )
    nats_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["nats://127.0.0.1:4222"], description="NATS servers, comma list"
    )
    nats_prefix: str = Field(
        "", description="prefix of stream names and subjects (isolates test runs and tenants)"
    )

    # Listening addresses.
    host: str = Field("127.0.0.1", description="address every service binds")
    http_header_timeout: float = Field(
        10.0, gt=0, description="seconds a client has to send a request's headers"
    )
    http_body_timeout: float = Field(
        30.0, gt=0, description="seconds a client has to send a request's body after its headers"
    )
    api_port: int = Field(5000, ge=0, le=65535, description="web service port")
    api_processes: int = Field(
        1, ge=1, le=64, description="API processes sharing the port; one saturates one core"
    )
    web_port: int = Field(5001, ge=0, le=65535, description="website port")
    worker_metrics_port: int = Field(5002, ge=0, le=65535, description="worker /metrics port")
    cron_metrics_port: int = Field(5003, ge=0, le=65535, description="cron /metrics port")
    index_port: int = Field(6081, ge=0, le=65535, description="index HTTP port")
    index_legacy_port: int = Field(6080, ge=0, le=65535, description="index line-protocol port")
    http_keep_alive: float = Field(
        600.0, gt=0, description="seconds an idle HTTP keep-alive connection stays open"
    )

    # Index.
    index_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:6081"],
        description="one URL per index shard, comma separated, in shard order",
    )
    index_name: str = Field("main", description="name of the fingerprint index")
    index_shard: int = Field(0, ge=0, description="the shard this index process owns")
    index_data_dir: Path = Field(Path(".dev/index"), description="index segments and manifest")
    index_timeout: float = Field(1.0, gt=0, description="seconds a lookup waits for the shards")
    index_checkpoint_postings: int = Field(
        1_000_000, gt=0, description="freeze memory segments into a file past this many postings"
    )
    index_checkpoint_age: float = Field(
        60.0, gt=0, description="seconds an unfrozen write may wait for its checkpoint"
    )
    index_secret: str = Field(
        "", description="when set, the index's HTTP writes need it in X-Index-Secret"
    )
    index_peers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="index URLs of this shard's other replicas; an empty replica copies a snapshot",
    )
    index_write_ack: Literal["fsync", "publish"] = Field(
        "fsync",
        description="when the index answers a write: after its own WAL fsync (fsync) or after "
        "the FPINDEX publish alone (publish: as durable as the NATS server's sync setting)",
    )
    index_wal_keep: float = Field(
        180.0,
        ge=0,
        description="seconds the index keeps checkpointed writes in its WAL: at least the NATS "
        "server's sync interval, so writes it lost in a crash can be published again",
    )
    index_log_max_age: float = Field(
        7 * 24 * 3600.0,
        gt=0,
        description="seconds FPINDEX keeps a change a replica has not checkpointed (safety net)",
    )

    # Web service behaviour.
    cluster_secret: str = Field("", description="secret of the internal API; empty disables it")
    website_secret: str = Field(
        DEV_WEBSITE_SECRET,
        description="signs sessions and demo keys; must be set (not empty, not this default) "
        "unless env is development",
    )
    env: Literal["production", "development"] = Field(
        "production",
        description="development (what `acoustid dev` runs) allows the default website secret",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses or networks of our own proxies, comma list; X-Forwarded-For "
        "hops they added are skipped to find the client, and with none the peer is the client",
    )
    rate_limit_ip: float = Field(4.0, gt=0, description="requests/s per client IP")
    rate_limit_application: float = Field(10.0, gt=0, description="requests/s per application")
    rate_limit_global: float = Field(100.0, gt=0, description="requests/s for the whole service")
    rate_limit_overrides: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="per-bucket rates, comma list of application.<id>=<r/s> or ip.<addr>=<r/s>;"
        " an application override also lifts the per-IP limit for its requests",
    )
    api_key_cache_ttl: float = Field(60.0, ge=0, description="seconds an API key lookup is cached")
    api_key_miss_cache_ttl: float = Field(
        10.0, ge=0, description="seconds an unknown API key is remembered as unknown"
    )
    rate_limit_invalid_key: float = Field(
        0.5, gt=0, description="unknown API keys/s one client IP may try before error 14"
    )
    api_key_cache_size: int = Field(1000, ge=1, description="API keys kept in each cache")
    demo_application_id: int = Field(
        2, ge=1, description="application the daily rotating demo client key counts against"
    )
    cluster_role: str = Field(
        "master", description="master or replica; replicas refuse the stats-writing internal calls"
    )
    musicbrainz_userinfo_url: str = Field(
        "https://musicbrainz.org/oauth2/userinfo",
        description="MusicBrainz OAuth2 userinfo endpoint for /v2/user/create_musicbrainz",
    )
    max_request_size: int = Field(1 << 20, gt=0, description="largest request body in bytes")

    # Import thresholds (acoustid/const.py).
    track_merge_threshold: float = Field(0.75, ge=0, le=1, description="join a track at this score")
    track_group_merge_threshold: float = Field(
        0.4, ge=0, le=1, description="min score to every fingerprint of a track; lookup floor"
    )
    fingerprint_merge_threshold: float = Field(
        0.9, ge=0, le=1, description="reuse a fingerprint at this score"
    )
    fingerprint_min_unique_items: int = Field(80, ge=0, description="reject sparser fingerprints")
    fingerprint_max_length_diff: int = Field(7, ge=0, description="seconds for a match")
    track_max_offset: int = Field(80, ge=0, description="compare2 max offset")
    worker_batch_size: int = Field(128, ge=1, description="submissions fetched per pull")
    worker_concurrency: int = Field(
        4,
        ge=1,
        description="import transactions at once; a pull is split between them, and the next "
        "pull is fetched while they run",
    )
    worker_ack_wait: float = Field(
        30.0, gt=0, description="seconds before an unacknowledged submission is redelivered"
    )
    worker_max_deliveries: int = Field(
        10, ge=1, description="failed deliveries before a submission is dead-lettered"
    )
    submission_retention_days: float = Field(
        30.0, gt=0, description="days a handled submission is kept before the cron deletes it"
    )
    outbox_delay: float = Field(300.0, ge=0, description="republish unhandled submissions after s")

    # Local development.
    dev_dir: Path = Field(Path(".dev"), description="make dev's data, logs and stack.json")
    dev_known_clients: bool = Field(
        True, description="make dev accepts the keys built into Picard and beets (own applications)"
    )
    dev_supervisor_port: int = Field(
        5004, ge=0, le=65535, description="make dev's /_health of the whole stack"
    )

    # Logging.
    log_level: str = Field("INFO", description="root log level")
    access_log_sample_rate: float = Field(
        1.0, ge=0, le=1, description="share of requests written to the access log (0 = off)"
    )

    # Error reporting (Sentry); nothing is sent while the DSN is empty.
    sentry_dsn: str = Field("", description="Sentry DSN; errors and exceptions are reported there")
    sentry_environment: str = Field("production", description="Sentry environment tag")
    sentry_sample_rate: float = Field(1.0, ge=0, le=1, description="share of errors reported")
    sentry_traces_sample_rate: float = Field(
        0.0, ge=0, le=1, description="share of requests traced (performance monitoring)"
    )

    @field_validator(
        "nats_servers",
        "index_urls",
        "index_peers",
        "rate_limit_overrides",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _csv(value)

    @field_validator("rate_limit_overrides")
    @classmethod
    def _overrides(cls, values: list[str]) -> list[str]:
        for item in values:
            bucket, _, rate = item.partition("=")
            kind, _, name = bucket.partition(".")
            if kind not in ("application", "ip") or not name:
                raise ValueError(f"{item!r}: expected application.<id>=<rate> or ip.<addr>=<rate>")
            if kind == "application" and not name.isdigit():
                raise ValueError(f"{item!r}: application id must be an integer")
            try:
                if float(rate) <= 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{item!r}: rate must be a positive number") from None
        return values

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        parse_networks(values)
        return values

    def require_production_secrets(self) -> None:
        """Refuses the default or an empty website secret outside development: anyone who
        knows it can sign sessions and compute each day's demo client key."""
        if self.env == "development":
            return
        if not self.website_secret or self.website_secret == DEV_WEBSITE_SECRET:
            raise SettingsError(
                f"{ENV_PREFIX}WEBSITE_SECRET must be set to a secret of your own "
                f"(or {ENV_PREFIX}ENV=development on a development machine)"
            )

    @property
    def rate_limits(self) -> dict[str, float]:
        """Overrides as ``{"application.3": 20.0, "ip.10.0.0.1": 50.0}``."""
        return {
            name: float(rate)
            for name, _, rate in (item.partition("=") for item in self.rate_limit_overrides)
        }

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def index_shards(self) -> int:
        return len(self.index_urls)

    def stream(self, name: str) -> str:
        """A JetStream stream name with this deployment's prefix (``SUBMISSIONS``, ``FPINDEX``)."""
        return f"{self.nats_prefix.upper().replace('.', '_')}{name}"

    def subject(self, name: str) -> str:
        """A NATS subject with this deployment's prefix (``submissions``, ``fpindex.3``)."""
        return f"{self.nats_prefix}{name}"


def _file_overrides() -> dict[str, str]:
    """Values of ``ACOUSTID_X_FILE`` variables for every X not set directly."""
    values: dict[str, str] = {}
    for name in Settings.model_fields:
        var = f"{ENV_PREFIX}{name.upper()}"
        path = os.environ.get(f"{var}_FILE")
        if path and var not in os.environ:
            try:
                values[name] = Path(path).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"{var}_FILE: cannot read {path}: {exc.strerror}") from exc
    return values


def load_settings() -> Settings:
    """Reads the environment now; errors name the ``ACOUSTID_`` variable at fault."""
    try:
        return Settings(**_file_overrides())  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
