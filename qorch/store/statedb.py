"""The state database file: validated on open, created atomically, errors in one line.

A ``state.db`` that exists must be an SQLite database with qorch's ``meta``
table, a ``schema_version`` this qorch understands and pages that pass
``PRAGMA quick_check``; anything else is refused and left as it was. A new
database is built under a temporary name and linked into place, so a crash
never leaves an empty ``state.db`` that the next run would mistake for a new
store. Every ``sqlite3`` error is turned into a :class:`StateError` naming the
database and what to do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path

from qorch.contract.errors import StateError
from qorch.store.fsutil import PRIVATE_DIR, PRIVATE_FILE, describe_os_error

DB_NAME = "state.db"
SCHEMA_VERSION = 3  # 2: paths relative to the state directory, journals; 3: history
OLDEST_SCHEMA = 1
SQLITE_HEADER = b"SQLite format 3\x00"
TABLES = ("meta", "runs", "jobs", "tasks")
LOW_SPACE_BYTES = 1 << 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    idem_key    TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    plan_path   TEXT NOT NULL,
    plan_name   TEXT NOT NULL,
    plan_hash   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    bundle_dir  TEXT NOT NULL,
    status      TEXT NOT NULL,
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL,
    UNIQUE (idem_key, generation)
);
CREATE TABLE IF NOT EXISTS jobs (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    idx         INTEGER NOT NULL,
    circuit     TEXT NOT NULL,
    target      TEXT NOT NULL,
    shots       INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    token       TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    handle      TEXT,
    message     TEXT NOT NULL DEFAULT '',
    submitted   TEXT,
    finished    TEXT,
    result_file TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    result      TEXT,
    updated     TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    name        TEXT NOT NULL,
    circuit     TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    value       REAL,
    std_error   REAL,
    low         REAL,
    high        REAL,
    level       REAL NOT NULL,
    PRIMARY KEY (run_id, name, circuit, target)
);
CREATE TABLE IF NOT EXISTS verdicts (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    position    INTEGER NOT NULL,
    label       TEXT NOT NULL,
    metric      TEXT NOT NULL,
    circuit     TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    bound       TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
"""


class DamagedStoreError(StateError):
    """``state.db`` exists but is empty, not SQLite, not qorch's, or has damaged pages."""


class MissingStoreError(StateError):
    """There is no ``state.db`` (beside the history of one, or no state at all)."""


class NewerStoreError(StateError):
    """``state.db`` was written by a newer qorch (a schema version this one does not know)."""


def recover_hint(directory: Path) -> str:
    """What to do about a missing or damaged store."""
    return (
        f"run 'qorch recover --state-dir {directory}' to list what was submitted, "
        "and 'qorch recover --rebuild' to rebuild the store from it"
    )


def check_file(path: Path) -> None:
    """Refuse a ``state.db`` that is empty, too short or not an SQLite file. Raises StateError."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(100)
    except OSError as error:
        raise StateError(describe_os_error(path, error, "read")) from None
    hint = recover_hint(path.parent)
    if not head:
        raise DamagedStoreError(
            f"{path} is empty, so it is not a qorch state store (was it truncated?); "
            f"it was left as it is; {hint}"
        )
    if len(head) < 100 or not head.startswith(SQLITE_HEADER):
        raise DamagedStoreError(
            f"{path} is damaged: not an SQLite database (overwritten or truncated); "
            f"it was left as it is; {hint}"
        )


def connect(
    path: Path, timeout_s: float, *, immutable: bool = False, wal: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with a busy timeout.

    ``wal``: switch to WAL mode now (which writes the file: not before it is validated).

    ``immutable``: for a database on a read-only file system, which nobody can
    change (SQLite then needs no ``-shm`` file to read a WAL database).
    """
    if immutable:
        conn = sqlite3.connect(
            f"file:{path}?immutable=1", uri=True, timeout=timeout_s, isolation_level=None
        )
    else:
        conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not immutable and wal:
        use_wal(conn)
    return conn


def use_wal(conn: sqlite3.Connection) -> None:
    """WAL journal (a no-op on a store already in WAL mode), normal syncing."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")


def open_connection(path: Path, timeout_s: float) -> tuple[sqlite3.Connection, bool, int]:
    """Open and validate an existing database; returns (connection, read_only, schema version).

    Raises StateError (empty, not SQLite, not qorch's, newer, damaged, locked …).
    """
    check_file(path)
    immutable = is_read_only_fs(path.parent)
    try:
        conn = connect(path, timeout_s, immutable=immutable, wal=False)
    except sqlite3.Error as error:
        raise translate(error, path, timeout_s) from None
    try:
        version = check_schema(conn, path)
        if not immutable:
            use_wal(conn)
    except sqlite3.Error as error:
        conn.close()
        raise translate(error, path, timeout_s) from None
    except BaseException:
        conn.close()
        raise
    if not immutable:
        tighten_modes(path)
    return conn, immutable, version


def check_schema(conn: sqlite3.Connection, path: Path) -> int:
    """The store's schema version, after checking its tables and pages. Raises StateError."""
    hint = recover_hint(path.parent)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "meta" not in names:
            raise DamagedStoreError(
                f"{path} is not a qorch state store (no meta table); it was left as it is; "
                "point QORCH_STATE_DIR or --state-dir elsewhere, or move the file away"
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = _version(row[0] if row else None, path, hint)
        if version > SCHEMA_VERSION:
            raise NewerStoreError(
                f"{path} was written by a newer qorch (store schema {version}; this qorch "
                f"reads {OLDEST_SCHEMA} to {SCHEMA_VERSION}); upgrade qorch to use it"
            )
        missing = [name for name in TABLES if name not in names]
        if missing:
            raise DamagedStoreError(f"{path} is damaged: table {missing[0]} is missing; {hint}")
        check = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if check != "ok":
            raise DamagedStoreError(f"{path} is damaged ({check}); it was left as it is; {hint}")
    except sqlite3.Error as error:
        raise translate(error, path, 0) from None
    return version


def _version(value: str | None, path: Path, hint: str) -> int:
    try:
        version = int(value) if value is not None else 0
    except ValueError:
        version = 0
    if version < OLDEST_SCHEMA:
        raise DamagedStoreError(
            f"{path} is damaged: no valid schema_version in its meta table; {hint}"
        )
    return version


def create_database(path: Path, timeout_s: float) -> bool:
    """Create ``path`` with qorch's schema, atomically; False if another process was first.

    Built under a temporary name (0600), then hard-linked into place, which
    fails if ``path`` appeared meanwhile. Built with a rollback journal, not
    WAL: the schema is in the file itself once its COMMIT returns (a full
    disk fails the COMMIT). In WAL mode it sat in ``-wal`` until closing
    merged it, a merge that fails silently on a full disk, and the link then
    published a file whose pages were only in the deleted ``-wal``: a
    malformed store. The store switches to WAL when it is opened.
    """
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    try:
        _remove_db_files(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        os.close(fd)
        conn = connect(tmp, timeout_s, wal=False)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA synchronous = FULL")
            init_schema(conn)
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    except sqlite3.Error as error:
        raise translate(error, path, timeout_s) from None
    except OSError as error:
        raise StateError(describe_os_error(path, error, "create")) from None
    finally:
        _remove_db_files(tmp)


def init_schema(conn: sqlite3.Connection) -> None:
    """Create the tables and record the schema version (one transaction)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _remove_db_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def fsync_dir(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def tighten_modes(path: Path) -> None:
    """Make the database files 0600 and a ``.qorch`` directory 0700 (best effort)."""
    for suffix in ("", "-wal", "-shm"):
        _chmod_at_most(Path(f"{path}{suffix}"), PRIVATE_FILE)
    if path.parent.name == ".qorch":
        _chmod_at_most(path.parent, PRIVATE_DIR)


def _chmod_at_most(path: Path, allowed: int) -> None:
    with contextlib.suppress(OSError):
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~allowed:
            os.chmod(path, current & allowed)


def is_read_only_fs(directory: Path) -> bool:
    """True if ``directory`` is on a file system mounted read-only."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def translate(error: sqlite3.Error, path: Path, timeout_s: float) -> StateError:
    """One line for an ``sqlite3`` error: the database, what happened, what to do."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    text = str(error)
    lowered = text.lower()
    directory = path.parent
    again = "and run the same command again"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in lowered:
        waited = f" (waited {timeout_s:g} s)" if timeout_s else ""
        return StateError(
            f"{path}: database is locked by another process{waited}; try again when it finishes"
        )
    full = StateError(f"{path}: disk full: free space under {directory} {again}")
    read_only = StateError(
        f"{path}: read-only: the state store cannot be written; make {directory} "
        f"writable (or set QORCH_STATE_DIR to a writable directory) {again}"
    )
    if name == "SQLITE_FULL" or "disk is full" in lowered:
        return full
    if name.startswith("SQLITE_READONLY") or "readonly" in lowered:
        return read_only
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or any(
        word in lowered for word in ("malformed", "not a database", "corrupt")
    ):
        return DamagedStoreError(
            f"{path} is damaged ({text}); it was left as it is; {recover_hint(directory)}"
        )
    if _low_on_space(directory):
        return full
    if _unwritable(directory):
        return read_only
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        return StateError(f"{path}: cannot open the state store ({text}); check {directory}")
    return StateError(f"{path}: state store error ({text}); check the disk under {directory}")


def _low_on_space(directory: Path) -> bool:
    try:
        return shutil.disk_usage(directory).free < LOW_SPACE_BYTES
    except OSError:
        return False


def _unwritable(directory: Path) -> bool:
    return is_read_only_fs(directory) or not os.access(directory, os.W_OK)
