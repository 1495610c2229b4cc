"""Table definitions; the migrations in replug/migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Ids are BigInteger with an Integer variant so SQLite keeps its rowid autoincrement.
Id = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("username_key", String(64), nullable=False, unique=True),
    Column("email_key", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("slug", String(80), nullable=True),
    Column("avatar_id", String(64), nullable=False, default="base01"),
    Column("badge", String(64), nullable=True),
    Column("language", String(8), nullable=True),
    Column("g_role", Integer, nullable=False, default=0),
    Column("level", Integer, nullable=False, default=1),
    Column("xp", Integer, nullable=False, default=0),
    Column("pp", Integer, nullable=False, default=0),
    Column("blurb", Text, nullable=False, default=""),
    Column("settings", JSON, nullable=False, default=dict),
    Column("joined_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("socket_token", String(255), nullable=False, unique=True),
    Column("guest_room_id", Id, ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True),
    Column("ended", Boolean, nullable=False, default=False),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(80), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("long_description", Text, nullable=False, default=""),
    Column("welcome", Text, nullable=False, default=""),
    Column("host_id", Id, ForeignKey("users.id"), nullable=False),
    Column("private", Boolean, nullable=False, default=False),
    Column("nsfw", Boolean, nullable=False, default=False),
    Column("capacity", Integer, nullable=True),
    Column("min_chat_level", Integer, nullable=False, default=1),
    Column("should_cycle", Boolean, nullable=False, default=True),
    Column("is_locked", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

room_roles = Table(
    "room_roles",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", Integer, nullable=False),
)

playlists = Table(
    "playlists",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Index("ix_playlists_user", "user_id"),
)

media = Table(
    "media",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("playlist_id", Id, ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("format", Integer, nullable=False),
    Column("cid", String(64), nullable=False),
    Column("author", String(255), nullable=False, default=""),
    Column("title", String(255), nullable=False, default=""),
    Column("image", String(512), nullable=False, default=""),
    Column("duration", Integer, nullable=False),
    Index("ix_media_playlist_position", "playlist_id", "position"),
    UniqueConstraint("playlist_id", "format", "cid", name="uq_media_source"),
)

history = Table(
    "history",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("playlist_id", Id, nullable=False),
    Column("media", JSON, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended", Boolean, nullable=False, default=False),
    Column("positive", Integer, nullable=False, default=0),
    Column("negative", Integer, nullable=False, default=0),
    Column("grabs", Integer, nullable=False, default=0),
    Column("listeners", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Index("ix_history_room_started", "room_id", "started_at"),
    Index("ix_history_user_started", "user_id", "started_at"),
)

server_settings = Table(
    "server_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
