"""Runs that last (issue #20): the store's interface and its two back ends. No Streamlit here."""

from . import bounds
from .connect import database_url, default_data_dir
from .store import BoardEntry, ClassInfo, RunRecord, RunStore, StoreError, is_token, new_secret, token_hash

__all__ = ["BoardEntry", "ClassInfo", "RunRecord", "RunStore", "StoreError", "bounds",
           "database_url", "default_data_dir", "is_token", "new_secret", "open_store", "token_hash"]


def open_store(environ=None) -> RunStore:
    """The store this process uses: PostgreSQL at DATABASE_URL, else SQLite in the data folder."""
    import os
    return RunStore(database_url(os.environ if environ is None else environ, default_data_dir()))
