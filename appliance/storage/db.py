"""The SQLite database: one writer connection behind a lock, a few readers, PRAGMAs and migrations.

Every write goes through `transaction()`, which serialises writers in-process (SQLite allows one writer
anyway) and makes each unit of work atomic. WAL lets readers run beside the writer. `synchronous=FULL`
makes a committed upload survive a power cut; the cost is one WAL fsync per commit, small beside the
fsync of the uploaded file itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from appliance.foreground import ForegroundGate

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]

# Set while a task holds the writer or a reader: a nested use must not wait for the foreground gate.
_holding: contextvars.ContextVar[bool] = contextvars.ContextVar("shoebox_db_holding", default=False)


@contextmanager
def _held() -> Iterator[None]:
    previous = _holding.get()
    _holding.set(True)
    try:
        yield
    finally:
        _holding.set(previous)  # not reset(): an async generator may be closed from another context


_PRAGMAS = (
    "PRAGMA busy_timeout=10000",  # first: the others may have to wait for a lock
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-4000",
)


def migration_files() -> list[tuple[str, str]]:
    """(name, sql) of every bundled migration, in name order."""
    folder = Path(__file__).with_name("migrations")  # not importlib.resources: 10 ms of imports at every start
    return sorted((entry.name, entry.read_text("utf-8")) for entry in folder.iterdir() if entry.name.endswith(".sql"))


def default_reader_cache_kib(memory_bytes: int | None = None) -> int:
    """Each reader connection's page cache: 1/64 of the memory, from 4 MiB (a 256 MB board) to 64 MiB.
    A search page reads ~250 assets and their EXIF rows scattered over the file; at 1M assets a 4 MiB cache
    sends most of those page reads back to the kernel (measured: 6.1 ms against 3.3 ms with 64 MiB for a
    page of 250). SQLite fills the cache only as pages are read, so idle memory does not grow."""
    if memory_bytes is None:
        try:
            memory_bytes = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            memory_bytes = 0
    return max(4 * 1024, min(64 * 1024, memory_bytes // 64 // 1024))


class Database:
    def __init__(self, path: Path, *, readers: int = 2, gate: ForegroundGate | None = None,
                 reader_cache_kib: int | None = None) -> None:
        self.path = path
        self.reader_cache_kib = default_reader_cache_kib() if reader_cache_kib is None else reader_cache_kib
        # background tasks (the job runner) let fresh API requests go first (appliance/foreground.py)
        self.gate = gate or ForegroundGate()
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self._inline: sqlite3.Connection | None = None  # for `lookup()`, used on the event loop's thread

    async def open(self) -> None:
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect("PRAGMA synchronous=FULL")
        # the first connection creates the file in WAL mode; then the readers open (each in its own thread)
        # while the writer migrates: a reader reads the schema at its first statement, not before
        readers = asyncio.gather(*(
            self._connect("PRAGMA query_only=ON", f"PRAGMA cache_size=-{self.reader_cache_kib}")
            for _ in range(self._reader_count)
        ))
        try:
            await self._migrate(self._writer)
        finally:
            opened = await readers
            self._all_readers.extend(opened)
            for reader in opened:
                self._readers.put_nowait(reader)
        self._inline = self._connect_inline()

    async def close(self) -> None:
        """Idempotent: closes every connection; a checkpoint folds the WAL back into the file."""
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = asyncio.Queue()
        if self._writer is not None:
            try:
                await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                log.warning("WAL checkpoint at close failed", exc_info=True)
            await self._writer.close()
            self._writer = None

    async def _connect(self, *extra: str) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.executescript(";\n".join((*_PRAGMAS, *extra)))  # one trip to the connection's thread
        return conn

    def _connect_inline(self) -> sqlite3.Connection:
        # check_same_thread=False: only ever used from the loop's thread, but that is the caller's promise
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        # never sleep on the loop's thread: a busy database (rare for a WAL reader) goes the threaded way
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA query_only=ON")
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        async with conn.execute("SELECT name FROM schema_migrations") as cursor:
            applied = {row[0] for row in await cursor.fetchall()}
        for name, sql in migration_files():
            if name in applied:
                continue
            log.info("applying migration %s", name)
            escaped = name.replace("'", "''")
            script = (
                f"BEGIN IMMEDIATE;\n{sql}\n"
                f"INSERT INTO schema_migrations(name, applied_at) VALUES ('{escaped}', "
                "strftime('%Y-%m-%dT%H:%M:%fZ','now'));\nCOMMIT;"
            )
            try:
                await conn.executescript(script)
            except sqlite3.Error:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic unit of writes. Commits on success, rolls back on any exception."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        if not _holding.get():
            await self.gate.yield_to_requests()
        async with self._write_lock:
            with _held():
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                except BaseException:
                    await self._writer.execute("ROLLBACK")
                    raise
                else:
                    await self._writer.execute("COMMIT")

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection for the duration of the block (for streaming or several queries)."""
        if not self._all_readers:
            raise RuntimeError("database is not open")
        if not _holding.get():
            await self.gate.yield_to_requests()
        conn = await self._readers.get()
        try:
            with _held():
                yield conn
        finally:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            self._readers.put_nowait(conn)

    async def lookup(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """The rows of a lookup by key (an indexed equality: one row or a handful), read on the event loop's
        own thread. Such a query takes tens of microseconds; the two thread hand-offs of `fetchall` (to the
        connection's thread and back) cost more, and under background load each can wait for a time slice:
        they made most of an API request's p95 (bench/latency). A request's authentication and access
        checks are such lookups. Anything that can scan goes through `fetchall`."""
        conn = self._inline
        if conn is None:
            return await self.fetchall(sql, params)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as err:
            if getattr(err, "sqlite_errorcode", None) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return await self.fetchall(sql, params)  # the threaded readers wait out a busy database

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row of a lookup (by key: one row). One trip to the connection's thread, not three
        (execute, fetch, close), which is what a lookup per imported or uploaded file costs most."""
        async with self.reader() as conn:
            rows = await conn.execute_fetchall(sql, params)
            return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # one trip to the connection's thread (execute, fetch and close there), not three: under load each trip
        # can wait for a time slice, and a search runs several queries
        async with self.reader() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single write statement in its own transaction; returns the changed row count."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def integrity_check(self) -> str:
        return str(await self.fetchval("PRAGMA integrity_check"))
