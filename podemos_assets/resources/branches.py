"""Reading the branch databases: one interface, MySQL/MariaDB (production) and SQLite (demo).

A reader returns the rows of one table whose `updated_at` falls in a half-open branch-local window
`[start, end)` as a pyarrow table with exact types (money decimal128(15,2), DATETIME timestamp[us]),
plus the control totals and key lists that the reconciliation checks re-query (the six tables' counts or
totals of a window in one query). Connection failures are retried with exponential back-off and full
jitter, then raised as `BranchUnreachable`.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

import dagster as dg
import pyarrow as pa
import tenacity

from podemos_assets.contracts.sucursales import BRANCH_TABLES, KEY_COLUMNS, TABLAS

# Driver messages that mean "the link or the server is gone", as opposed to a bad query.
_CONNECTION_ERRORS = re.compile(
    r"can't connect|connection refused|lost connection|gone away|timed out|timeout|broken pipe|reset by peer|"
    r"unexpected eof|connection closed|connectionreset|io error|error communicating|unreachable|"
    r"no route|not connected|failed to connect|unable to open database|offline",
    re.IGNORECASE,
)
T = TypeVar("T")


class BranchUnreachable(ConnectionError):
    """A branch database did not answer after every retry; the partition fails and is caught up later."""

    def __init__(self, branch: str, host: str, cause: str, attempts: int):
        self.branch, self.host, self.cause, self.attempts = branch, host, cause, attempts
        super().__init__(
            f"Branch {branch} is unreachable at {host} after {attempts} attempt(s): {cause}. Nothing was "
            f"extracted for it; the catch-up sensor re-requests its missing days when it answers again "
            f"(or run `podemos backfill --sucursal {branch} --desde ... --hasta ...`)."
        )


class BranchQueryError(RuntimeError):
    """The branch answered but the query failed (schema drift, permissions): retrying will not help."""


def _redact(text: str, url: str) -> str:
    password = urlparse(url).password
    return text.replace(password, "***") if password else text


def _fmt(ts: datetime) -> str:
    """A window bound as the branch compares it (DATETIME(0)/(6) in MySQL, TEXT in SQLite)."""
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f" if ts.microsecond else "%Y-%m-%d %H:%M:%S")


class BranchReader:
    """Queries of one branch database. Subclasses implement `_query(sql, params) -> pa.Table`."""

    def __init__(self, branch: str, url: str, attempts: int = 4, base_delay: float = 0.5, max_delay: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.branch, self.url = branch, url
        self.attempts, self.base_delay, self.max_delay = attempts, base_delay, max_delay
        self._sleep = sleep

    @property
    def host(self) -> str:
        parsed = urlparse(self.url)
        return f"{parsed.hostname}:{parsed.port or 3306}" if parsed.hostname else parsed.path

    # --- the interface ---------------------------------------------------------------------------
    def extract(self, tabla: str, start: datetime, end: datetime) -> pa.Table:
        """Rows of `tabla` with start <= updated_at < end (branch-local), ordered by key, exact types."""
        cols = BRANCH_TABLES[tabla]
        sql = (f"SELECT {', '.join(cols)} FROM {tabla} WHERE updated_at >= {self._p} AND updated_at < {self._p} "
               f"ORDER BY {', '.join(KEY_COLUMNS[tabla])}")
        return self._retry(lambda: self._cast(tabla, self._query(sql, (_fmt(start), _fmt(end)))))

    def totals(self, tabla: str, start: datetime, end: datetime) -> tuple[int, Decimal | None]:
        """What the branch reports for the window: row count and SUM(monto) (None for tables without monto)."""
        money = "monto" in BRANCH_TABLES[tabla]
        total = f", CAST(COALESCE(SUM(monto), 0) AS {self._money_sql}) AS total" if money else ""
        sql = f"SELECT COUNT(*) AS n{total} FROM {tabla} WHERE updated_at >= {self._p} AND updated_at < {self._p}"
        row = self._retry(lambda: self._query(sql, (_fmt(start), _fmt(end)))).to_pylist()[0]
        return int(row["n"]), (Decimal(str(row["total"])).quantize(Decimal("0.01")) if money else None)

    def window_counts(self, start: datetime, end: datetime, tablas: tuple[str, ...] = TABLAS) -> dict[str, int]:
        """Rows per table in the window, from one query (UNION ALL of one COUNT(*) per table): which tables
        changed that day at all, so a quiet branch-day costs one round trip instead of one per table."""
        sql = " UNION ALL ".join(
            f"SELECT '{t}' AS tabla, COUNT(*) AS n FROM {t} WHERE updated_at >= {self._p} AND updated_at < {self._p}"
            for t in tablas)
        rows = self._retry(lambda: self._query(sql, (_fmt(start), _fmt(end)) * len(tablas))).to_pylist()
        return {r["tabla"]: int(r["n"]) for r in rows}

    def window_totals(self, start: datetime, end: datetime,
                      tablas: tuple[str, ...] = TABLAS) -> dict[str, tuple[int, Decimal | None]]:
        """`totals` of every table in `tablas`, from one query (UNION ALL): what the reconciliation compares."""
        parts = []
        for t in tablas:
            money = "COALESCE(SUM(monto), 0)" if "monto" in BRANCH_TABLES[t] else "0"
            parts.append(f"SELECT '{t}' AS tabla, COUNT(*) AS n, CAST({money} AS {self._money_sql}) AS total FROM {t} "
                         f"WHERE updated_at >= {self._p} AND updated_at < {self._p}")
        rows = self._retry(lambda: self._query(" UNION ALL ".join(parts), (_fmt(start), _fmt(end)) * len(tablas)))
        return {
            r["tabla"]: (int(r["n"]), Decimal(str(r["total"])).quantize(Decimal("0.01"))
                         if "monto" in BRANCH_TABLES[r["tabla"]] else None)
            for r in rows.to_pylist()
        }

    def daily_totals(self, tabla: str) -> dict[date, tuple[int, Decimal | None]]:
        """The fingerprint of the whole table: row count and SUM(monto) per branch-local `updated_at` day,
        from one GROUP BY (the settling comparison against the lake, any age)."""
        money = "monto" in BRANCH_TABLES[tabla]
        total = f", CAST(COALESCE(SUM(monto), 0) AS {self._money_sql}) AS total" if money else ""
        sql = f"SELECT DATE(updated_at) AS dia, COUNT(*) AS n{total} FROM {tabla} GROUP BY DATE(updated_at)"
        rows = self._retry(lambda: self._query(sql, ())).to_pylist()
        return {
            _as_date(r["dia"]): (int(r["n"]), Decimal(str(r["total"])).quantize(Decimal("0.01")) if money else None)
            for r in rows if r["dia"] is not None
        }

    def keys(self, tabla: str) -> pa.Table:
        """Every key currently in `tabla` (for the hard-delete reconciliation)."""
        cols = KEY_COLUMNS[tabla]
        sql = f"SELECT {', '.join(cols)} FROM {tabla} ORDER BY {', '.join(cols)}"
        table = self._retry(lambda: self._query(sql, ()))
        return pa.table({c: table[c].cast(pa.int64()) for c in cols})

    def ping(self) -> bool:
        """One quick attempt, no retries: does the branch answer now? (used by the catch-up sensor)."""
        try:
            self._query("SELECT 1 AS ok", ())
            return True
        except Exception:
            return False

    # --- shared machinery ------------------------------------------------------------------------
    _p = "%s"
    _money_sql = "DECIMAL(15,2)"

    def _query(self, sql: str, params: tuple) -> pa.Table:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cast(self, tabla: str, table: pa.Table) -> pa.Table:
        """Cast the driver's types to the contract; a lossy money cast raises (never rounds silently)."""
        out = {}
        for name, typ in BRANCH_TABLES[tabla].items():
            col = table[name]
            if pa.types.is_timestamp(typ) and pa.types.is_timestamp(col.type) and col.type.tz:
                col = col.cast(pa.timestamp(col.type.unit))  # drivers tag naive DATETIMEs as UTC: drop the tag
            out[name] = col.cast(typ, safe=True)
        return pa.table(out)

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying connection failures with exponential backoff and full jitter (uniform in
        [0, min(max_delay, base_delay * 2^attempt)]); any other failure is final at once."""

        def classified() -> T:
            try:
                return fn()
            except BranchQueryError:
                raise
            except Exception as exc:  # drivers raise RuntimeError/OperationalError/etc.: classify by message
                text = _redact(f"{type(exc).__name__}: {exc}", self.url)
                if not _CONNECTION_ERRORS.search(text):
                    raise BranchQueryError(f"Branch {self.branch} at {self.host}: query failed: {text}") from None
                raise _LinkDown(text) from None

        try:
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_attempt(self.attempts),
                wait=tenacity.wait_random_exponential(multiplier=self.base_delay, max=self.max_delay),
                retry=tenacity.retry_if_exception_type(_LinkDown), sleep=self._sleep, reraise=True,
            ):
                with attempt:
                    return classified()
        except _LinkDown as exc:
            raise BranchUnreachable(self.branch, self.host, str(exc), self.attempts) from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover


class _LinkDown(ConnectionError):
    """A connection failure worth retrying (the message, redacted, is the cause reported at the end)."""


class MySQLBranchReader(BranchReader):
    """MariaDB/MySQL through connectorx: Arrow-native, ~20x the pure-Python driver (benchmarks/branch_extract.py)."""

    def _query(self, sql: str, params: tuple) -> pa.Table:
        import connectorx as cx

        # Fail fast when nothing listens: the driver's pool would wait 30 s per attempt before giving up.
        parsed = urlparse(self.url)
        socket.create_connection((parsed.hostname, parsed.port or 3306), timeout=10).close()
        # connectorx has no bound parameters; ours are only datetimes formatted by `_fmt` (no user text).
        text = sql % tuple(f"'{p}'" for p in params) if params else sql
        url = self.url
        if "prefer_socket" not in url:  # the driver would silently swap 127.0.0.1 for a local socket
            url += ("&" if "?" in url else "?") + "prefer_socket=false"
        return cx.read_sql(url, text, return_type="arrow")


class SqliteBranchReader(BranchReader):
    """The demo's embedded branches. Money and DATETIME are TEXT there; `_cast` restores the MySQL types.

    A database file that is not there is a branch that does not answer (ConnectionError, retried, then
    `BranchUnreachable`), exactly like a MySQL branch that refuses connections: the demo takes a branch's
    link down by moving its file aside (demo/world.py)."""

    _p = "?"
    _money_sql = "TEXT"

    @property
    def host(self) -> str:
        return str(self.path)

    @property
    def path(self) -> Path:
        return Path("/" + unquote(urlparse(self.url).path).lstrip("/"))  # sqlite:////abs and sqlite:///abs

    def window_totals(self, start: datetime, end: datetime,
                      tablas: tuple[str, ...] = TABLAS) -> dict[str, tuple[int, Decimal | None]]:
        return {t: self.totals(t, start, end) for t in tablas}  # money is TEXT: summed in Decimal, per table

    def _query(self, sql: str, params: tuple) -> pa.Table:
        if not self.path.exists():
            raise ConnectionError(f"unable to open database file {self.path}")
        # SUM over TEXT money would be float in SQLite: totals of money are summed in Decimal instead.
        if "SUM(monto)" in sql:
            return self._decimal_daily_totals(sql) if "GROUP BY" in sql else self._decimal_totals(sql, params)
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            cur = con.execute(sql, params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            con.close()
        return pa.table({n: pa.array([r[i] for r in rows]) for i, n in enumerate(names)}) if rows else pa.table(
            {n: pa.array([], pa.string()) for n in names})

    def _decimal_totals(self, sql: str, params: tuple) -> pa.Table:
        tabla = re.search(r"FROM (\w+)", sql).group(1)
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            rows = con.execute(f"SELECT monto FROM {tabla} WHERE updated_at >= ? AND updated_at < ?", params).fetchall()
        finally:
            con.close()
        total = sum((Decimal(m) for (m,) in rows if m is not None and _is_number(m)), Decimal("0.00"))
        return pa.table({"n": [len(rows)], "total": [str(total)]})


    def _decimal_daily_totals(self, sql: str) -> pa.Table:
        tabla = re.search(r"FROM (\w+)", sql).group(1)
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            rows = con.execute(f"SELECT DATE(updated_at), monto FROM {tabla}").fetchall()
        finally:
            con.close()
        days: dict[str, list] = {}
        for day, monto in rows:
            n, total = days.get(day, (0, Decimal("0.00")))
            days[day] = (n + 1, total + (Decimal(monto) if monto is not None and _is_number(monto) else 0))
        return pa.table({"dia": list(days), "n": [v[0] for v in days.values()],
                         "total": [str(v[1]) for v in days.values()]})


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
        return True
    except Exception:
        return False


class BranchesResource(dg.ConfigurableResource):
    """Opens a reader for a branch URL (mysql:// or sqlite:///). Retry policy is configuration."""

    home: str = "."  # PODEMOS_HOME, substituted into registry URLs such as sqlite:///${PODEMOS_HOME}/...
    attempts: int = 4
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0
    parallel_branches: int = 4  # branches extracted at once inside one run (each holds one connection)

    @property
    def home_path(self) -> Path:
        return Path(self.home)

    def reader(self, branch: str, url: str) -> BranchReader:
        scheme = urlparse(url).scheme
        cls = {"mysql": MySQLBranchReader, "mariadb": MySQLBranchReader, "sqlite": SqliteBranchReader}.get(scheme)
        if cls is None:
            raise BranchQueryError(f"Branch {branch}: unsupported URL scheme {scheme!r} (expected mysql:// or sqlite:///).")
        if scheme == "mariadb":
            url = "mysql" + url[len("mariadb"):]
        return cls(branch, url, self.attempts, self.base_delay_seconds, self.max_delay_seconds)
