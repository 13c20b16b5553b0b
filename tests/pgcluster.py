"""A throw-away PostgreSQL cluster for the store's tests: initdb and pg_ctl from Debian's packages,
run as an unprivileged user, on a free loopback port, removed afterwards."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent     # Debian links pg_ctl alone into the PATH
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """`with Cluster() as pg: pg.new_database()` -> a DATABASE_URL for an empty database."""

    def __init__(self):
        self.bin = binaries()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql)")
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mnist-pg-"))
        self.data = self.root / "data"
        self._names = itertools.count(1)
        self._user = None
        if os.geteuid() == 0:        # initdb refuses to run as root
            import pwd
            self._user = "nobody"
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)

    def _pg(self, tool: str, *args, check=True):
        return subprocess.run([str(self.bin / tool), *args], user=self._user, cwd=self.root,
                              capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> "Cluster":
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync", "--no-instructions")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                 "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                 "-w", "-t", "60", "start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        name = f"store_{next(self._names)}"
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.remove()
