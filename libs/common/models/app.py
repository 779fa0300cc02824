"""The ``app`` database: accounts, applications, sources, formats and statistics."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.common.models.base import created_ts, intpk, new_metadata, optional_ts


class AppBase(DeclarativeBase):
    metadata = new_metadata()


class Account(AppBase):
    __tablename__ = "account"
    __table_args__ = (
        Index(None, "apikey", unique=True),
        Index(None, "mbuser", unique=True),
        Index(None, "email", unique=True),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String)
    apikey: Mapped[str] = mapped_column(String)
    mbuser: Mapped[str | None] = mapped_column(String)
    anonymous: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    created: Mapped[created_ts]
    lastlogin: Mapped[optional_ts]
    submission_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", use_alter=True))
    application_version: Mapped[str | None] = mapped_column(String)
    created_from: Mapped[str | None] = mapped_column(INET)
    is_admin: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Not in the original (which only signs in through MusicBrainz, Google and OpenID): email
    # and password sign-in, so an instance with no internet has accounts; email is lowercase.
    email: Mapped[str | None] = mapped_column(String)
    password_hash: Mapped[str | None] = mapped_column(String)
    is_moderator: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class AccountOpenID(AppBase):
    __tablename__ = "account_openid"

    openid: Mapped[str] = mapped_column(String, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)


class AccountGoogle(AppBase):
    __tablename__ = "account_google"

    google_user_id: Mapped[str] = mapped_column(String, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)


class Application(AppBase):
    __tablename__ = "application"
    __table_args__ = (Index(None, "apikey", unique=True),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String)
    version: Mapped[str] = mapped_column(String)
    apikey: Mapped[str] = mapped_column(String)
    created: Mapped[created_ts]
    active: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    email: Mapped[str | None] = mapped_column(String)
    website: Mapped[str | None] = mapped_column(String)


class Format(AppBase):
    __tablename__ = "format"
    __table_args__ = (Index(None, "name", unique=True),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String)


class Source(AppBase):
    __tablename__ = "source"
    __table_args__ = (
        Index("source_idx_uniq", "application_id", "account_id", "version", unique=True),
    )

    id: Mapped[intpk]
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    version: Mapped[str | None] = mapped_column(String)


class Stats(AppBase):
    __tablename__ = "stats"
    __table_args__ = (Index(None, "name", "date"),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String)
    date: Mapped[date] = mapped_column(Date, server_default=text("CURRENT_DATE"), index=True)
    value: Mapped[int] = mapped_column(Integer)


class StatsLookups(AppBase):
    """Hourly lookup counts; the unique index is what the counter flush upserts on."""

    __tablename__ = "stats_lookups"
    __table_args__ = (
        Index("stats_lookups_idx_uniq", "application_id", "date", "hour", unique=True),
    )

    id: Mapped[intpk]
    date: Mapped[date] = mapped_column(Date, index=True)
    hour: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    count_nohits: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    count_hits: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class StatsUserAgents(AppBase):
    __tablename__ = "stats_user_agents"
    __table_args__ = (
        Index(
            "stats_user_agents_idx_uniq",
            "application_id",
            "date",
            "user_agent",
            "ip",
            unique=True,
        ),
    )

    id: Mapped[intpk]
    date: Mapped[date] = mapped_column(Date, index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    user_agent: Mapped[str] = mapped_column(String)
    ip: Mapped[str] = mapped_column(String)
    count: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class StatsTopAccounts(AppBase):
    __tablename__ = "stats_top_accounts"

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    count: Mapped[int] = mapped_column(Integer)
