"""Where the store lives and how to reach it: the URL from the environment, the engine for each back
end (SQLite's pragmas, PostgreSQL's pool and connect timeout), and a driver's failure in one line."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def database_url(environ: dict, default_dir: Path) -> str:
    """`DATABASE_URL` (PostgreSQL) if set, else the SQLite file in the data folder."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        for prefix in ("postgres://", "postgresql://"):     # use psycopg 3, whatever the URL says
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url
    folder = Path(environ.get("MNIST_STUDIO_DATA_DIR") or default_dir)
    return f"sqlite:///{folder / 'mnist-studio.sqlite3'}"


def default_data_dir() -> Path:
    import os
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "mnist-studio"


def engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")     # ON DELETE CASCADE, as on PostgreSQL
            cursor.execute("PRAGMA journal_mode=WAL")    # readers don't wait for a writer
            cursor.close()
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4, pool_recycle=1800,
                            connect_args={"connect_timeout": 5})


def detail(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]
