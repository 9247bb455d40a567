"""A private PostgreSQL primary and streaming replica on loopback ports, in a temporary directory.

Used by tests/test_replica.py and bench/replica.py. Debian's PostgreSQL binaries
(/usr/lib/postgresql/15/bin, or $PG_BIN): initdb, pg_ctl, pg_basebackup -R. PostgreSQL refuses
to run as root, so as root every command runs as the ``postgres`` user (runuser) and the
directory is handed to it. fsync is off: the clusters are thrown away, and the replica still
replays every WAL record the primary streams.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"


def unavailable() -> str | None:
    """Why a private cluster cannot be started here, or None."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup"):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} not found (Debian package postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and no {RUN_AS!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and no runuser to drop privileges"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pair:
    """A running primary and its streaming replica; ``stop()`` removes both."""

    root: Path
    primary_port: int
    replica_port: int
    database: str = "survey"
    started: list[Path] = field(default_factory=list)

    def url(self, port: int, database: str | None = None) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database or self.database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def conninfo(self, port: int) -> str:
        return f"host=127.0.0.1 port={port} user=postgres dbname={self.database}"

    def wait_replayed(self, timeout: float = 30.0) -> float:
        """Wait until the replica has replayed everything the primary has written; seconds."""
        start = time.perf_counter()
        with psycopg.connect(self.conninfo(self.primary_port), autocommit=True) as p:
            target = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        with psycopg.connect(self.conninfo(self.replica_port), autocommit=True) as r:
            while True:
                behind = r.execute("SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn())",
                                   (target,)).fetchone()[0]  # type: ignore[index]
                if behind <= 0:
                    return time.perf_counter() - start
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"replica still {behind} bytes behind after {timeout} s")
                time.sleep(0.01)

    def stop(self) -> None:
        for data in reversed(self.started):
            _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                 check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", RUN_AS, "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, cwd="/")


def _configure(data: Path, port: int, sockets: Path) -> None:
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
                   f"unix_socket_directories = '{sockets}'\nfsync = off\n"
                   "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                   # Long dashboard reads on the standby are not cancelled by vacuum replay.
                   "hot_standby_feedback = on\nshared_buffers = 64MB\n")


def start_pair(database: str = "survey") -> Pair:
    """initdb a primary, create ``database``, clone it with pg_basebackup -R, start both."""
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    root = Path(tempfile.mkdtemp(prefix="sipas-replica-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        os.chown(root, user.pw_uid, user.pw_gid)
    pair = Pair(root, free_port(), free_port(), database)
    primary, replica = root / "primary", root / "replica"
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--locale=C.UTF-8"])
        _configure(primary, pair.primary_port, root)
        _run([str(PG_BIN / "pg_ctl"), "-D", str(primary), "-l", str(root / "primary.log"),
              "-w", "start"])
        pair.started.append(primary)
        with psycopg.connect(f"host=127.0.0.1 port={pair.primary_port} user=postgres "
                             "dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        _run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
              "-U", "postgres", "-D", str(replica), "-R", "-X", "stream", "-c", "fast"])
        with open(replica / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {pair.replica_port}\n")
        _run([str(PG_BIN / "pg_ctl"), "-D", str(replica), "-l", str(root / "replica.log"),
              "-w", "start"])
        pair.started.append(replica)
    except BaseException:
        pair.stop()
        raise
    return pair
