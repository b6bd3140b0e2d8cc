"""The payments consolidation as one SELECT that DuckDB and Spark SQL both run, built from the DuckDB path.

The version SELECT and the version order are the DuckDB path's own (`pagos.merge.PAGOS_SELECT`,
`pagos.merge._order_by`), parsed with sqlglot as DuckDB SQL and generated for each engine by sqlglot's
DuckDB and Spark generators (types, interval arithmetic, NULL ordering); the quarantine CASE is
`pagos.merge.MOTIVO`. Rewritten on the AST by hand is only what sqlglot cannot know: the DuckDB path's
macros (`gid`, `local_to_utc`), its input names (`in_*`) and one spelling sqlglot lacks for Spark (JSON).
Time zones: `zonas` holds the UTC offset of every local-time interval, computed from Python's zoneinfo,
so both engines resolve ambiguous / skipped local times like the branch extractor does (fold=0: the
offset in force before a transition).

Semantics of a run over extract days [desde, hasta]: the state `pagos_historicos` / `pagos_cuarentena`
would have after merging those days, oldest first, into an empty warehouse with `merge_day`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NoReturn
from zoneinfo import ZoneInfo

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from podemos_assets.contracts import lake as paths
from podemos_assets.contracts.sucursales import BAJAS_SCHEMA, LINEAGE
from podemos_assets.pagos import merge as pagos_merge
from podemos_assets.pagos.ddl import sql_type
from podemos_assets.pagos.extracts import INPUT_SCHEMAS as PAGOS_INPUTS

# The output tables are the warehouse's: their columns and version order come from the DuckDB path.
PAGOS_COLUMNS = tuple(pagos_merge.PAGOS_COLS)
CUARENTENA_COLUMNS = (*PAGOS_COLUMNS, "motivo")
ENGINES = ("duckdb", "spark")  # sqlglot dialect names
# The DuckDB path's `gid(x, suc)` macro (pagos.merge.GID_MACRO): no engine but that DuckDB session knows
# it, so it is expanded in place.
GID_MACRO = pagos_merge.GID_MACRO


def _fail(problem: str) -> NoReturn:
    raise RuntimeError(
        f"The DuckDB path's SQL (podemos_assets/pagos/merge.py) {problem}: update the rewrite in "
        "podemos_assets/spark/rules.py so the Spark job keeps running the DuckDB path's SQL."
    )


def _parse(sql: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except (ParseError, TokenError) as e:
        _fail(f"has SQL that sqlglot cannot parse as DuckDB SQL ({str(e).splitlines()[0]})")


def _args(call: exp.Anonymous, n: int) -> list[exp.Expression]:
    if len(call.expressions) != n:
        _fail(f"calls {call.sql('duckdb')} with {len(call.expressions)} arguments; the rewrite expects {n}")
    return call.expressions


def _gid(call: exp.Anonymous) -> exp.Expression:
    params = dict(zip(("x", "suc"), _args(call, 2)))
    body = _parse(GID_MACRO).transform(
        lambda n: params[n.name].copy() if isinstance(n, exp.Column) and not n.table and n.name in params else n)
    return exp.paren(body)


def _local_to_utc(call: exp.Anonymous) -> exp.Expression:
    """`local_to_utc(zone, ts)`, the instant of a branch-local time: the offset comes from `zonas`, joined
    (alias z) to the SELECT that calls it, instead of DuckDB's timezone() that Spark does not share."""
    zone, ts = _args(call, 2)
    select = call.find_ancestor(exp.Select)
    if any(j.alias_or_name == "z" for j in select.args.get("joins") or []):
        _fail("calls local_to_utc in a SELECT that already has a table z (the rewrite joins `zonas z` once)")
    z = lambda name: exp.column(name, "z")  # noqa: E731
    on = exp.and_(exp.EQ(this=z("zona_horaria"), expression=zone.copy()),
                  exp.GTE(this=ts.copy(), expression=z("local_desde")),
                  exp.LT(this=ts.copy(), expression=z("local_hasta")))
    select.join(exp.table_("zonas", alias="z"), on=on, join_type="left", copy=False)
    # ts + (-offset) seconds: sqlglot spells a subtraction of a column of seconds as an interval literal,
    # which Spark rejects; the addition it spells as DuckDB interval arithmetic and Spark's DATE_ADD(SECOND, ...).
    local = exp.TimestampAdd(this=ts.copy(), expression=exp.Neg(this=z("offset_segundos")), unit=exp.var("SECOND"))
    # The type of an instant: DuckDB's TIMESTAMPTZ, Spark's TIMESTAMP (both sessions run in UTC).
    return exp.cast(local, exp.DataType.Type.TIMESTAMPTZ)


MACROS = {"gid": _gid, "local_to_utc": _local_to_utc}


def _expand_macros(tree: exp.Expression) -> exp.Expression:
    """Every call of a DuckDB macro expanded; any other function sqlglot does not know is an error."""
    while (call := tree.find(exp.Anonymous)) is not None:  # found afresh: expansions copy their arguments
        expand = MACROS.get(call.name.lower())
        if expand is None:
            _fail(f"calls {call.sql('duckdb')}, a function sqlglot does not know and the rewrite does not expand")
        call.replace(expand(call))
    return tree


def _spark_json(tree: exp.Expression) -> exp.Expression:
    """json_object for Spark: sqlglot prints DuckDB's spelling, which Spark has no function for; the same
    object is to_json(named_struct(...)), with ignoreNullFields off so a NULL value stays a key, as in DuckDB."""
    for node in list(tree.find_all(exp.JSONObject)):
        fields = []
        for pair in node.expressions:
            if not (isinstance(pair, exp.JSONKeyValue) and isinstance(pair.this, exp.Literal) and pair.this.is_string):
                _fail(f"builds {node.sql('duckdb')}; the Spark rewrite handles literal keys only")
            fields.append(exp.PropertyEQ(this=exp.to_identifier(pair.this.name), expression=pair.expression.copy()))
        options = exp.VarMap(keys=exp.Array(expressions=[exp.Literal.string("ignoreNullFields")]),
                             values=exp.Array(expressions=[exp.Literal.string("false")]))
        node.replace(exp.JSONFormat(this=exp.Struct(expressions=fields), options=options))
    return tree


def _read_inputs(select: exp.Expression) -> None:
    """PAGOS_SELECT over the bulk path's relations: its input `in_x` is the relation `x` (INPUT_SCHEMAS)."""
    aliases = {}
    for table in select.find_all(exp.Table):
        aliases[table.alias_or_name] = name = table.name.removeprefix("in_")
        if table.name == f"in_{name}" and name in INPUT_SCHEMAS:
            table.set("this", exp.to_identifier(name))
        elif table.name != "sucursales":  # the registry: the one relation both paths register as is
            _fail(f"has PAGOS_SELECT read the table {table.name}, which the bulk path does not provide")
    for column in select.find_all(exp.Column):
        relation = aliases.get(column.table)
        if relation in INPUT_SCHEMAS and column.name not in INPUT_SCHEMAS[relation].names:
            _fail(f"has PAGOS_SELECT read {column.sql('duckdb')}, a column missing from INPUT_SCHEMAS[{relation!r}]")


def _alive(table: str, key: str) -> str:
    """Ids of a dimension whose latest version is not dead (tombstone detected on or after it)."""
    return f"""SELECT d.{key} FROM (
        SELECT gid(id, sucursal) AS {key}, sucursal, id, updated_at, ROW_NUMBER() OVER (
            PARTITION BY gid(id, sucursal) ORDER BY updated_at_utc DESC, extraccion DESC, updated_at DESC) AS version
        FROM {table}) d
    LEFT JOIN bajas_max b ON b.tabla = '{table}' AND b.sucursal = d.sucursal AND b.id_origen = d.id
    WHERE d.version = 1 AND NOT coalesce(b.fecha_baja >= CAST(d.updated_at AS DATE), false)"""


def consolidation_sql(engine: str) -> str:
    """The consolidation as one SELECT (all winners, `motivo` NULL for published rows) for `engine`.

    Equals merging the same extracts day by day into an empty warehouse with `pagos.merge.merge_day`.
    Written in the DuckDB path's dialect, macros and all, then rewritten and generated for `engine`.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    cols = ", ".join(f"g.{c}" for c in PAGOS_COLUMNS)
    tree = _parse(f"""
WITH stage AS ({pagos_merge.PAGOS_SELECT}),
ganador AS (
    SELECT * FROM (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY id_pago ORDER BY {pagos_merge._order_by(list(PAGOS_COLUMNS))}) AS version
        FROM (SELECT stage.*, true AS nuevo FROM stage) c
    ) v WHERE version = 1
),
bajas_max AS (SELECT tabla, sucursal, id AS id_origen, MAX(fecha) AS fecha_baja FROM bajas GROUP BY tabla, sucursal, id),
cuentas_vivas AS ({_alive('cuentas', 'id_prestamo')}),
clientes_vivos AS ({_alive('clientes', 'id_cliente')})
SELECT {cols}, {pagos_merge.MOTIVO} AS motivo
FROM ganador g
LEFT JOIN bajas_max b ON b.tabla = 'transacciones' AND b.sucursal = g.sucursal AND b.id_origen = g.id_origen
LEFT JOIN sucursales s ON s.id = g.sucursal
LEFT JOIN cuentas_vivas c ON c.id_prestamo = g.id_prestamo
LEFT JOIN clientes_vivos k ON k.id_cliente = g.id_cliente
""")
    _read_inputs(tree.find(exp.CTE).this)  # the first CTE, `stage`: PAGOS_SELECT
    tree = _expand_macros(tree)
    if engine == "spark":
        tree = _spark_json(tree)
    return tree.sql(dialect=engine, pretty=True)


def split_sql(source: str) -> dict[str, str]:
    """The two published tables as SELECTs over the consolidated relation named `source`."""
    return {
        "pagos_historicos": f"SELECT {', '.join(PAGOS_COLUMNS)} FROM {source} WHERE motivo IS NULL",
        "pagos_cuarentena": f"SELECT {', '.join(CUARENTENA_COLUMNS)} FROM {source} WHERE motivo IS NOT NULL",
    }


# What the SQL reads from each input (the branch ETL writes more columns; Parquet prunes), with the branch
# contract's types: the payments path's inputs (pagos.extracts) and the tombstones.
_READ = {"transacciones": ("id", "cuenta_id", "cliente_id", "fecha", "monto", "canal", "updated_at"),
         "cuentas": ("id", "updated_at"), "clientes": ("id", "updated_at")}
INPUT_SCHEMAS: dict[str, pa.Schema] = {
    **{t: pa.schema([PAGOS_INPUTS[t].field(c) for c in (*cols, *LINEAGE)]) for t, cols in _READ.items()},
    "bajas": BAJAS_SCHEMA,
}


def duckdb_schema(relation: str) -> dict[str, str]:
    """Column → DuckDB type of INPUT_SCHEMAS[relation]."""
    return {f.name: sql_type(f.type, f.name, sized_varchar=False) for f in INPUT_SCHEMAS[relation]}


def spark_ddl(relation: str) -> str:
    """INPUT_SCHEMAS[relation] as a Spark DDL schema (DuckDB's TIMESTAMP is Spark's TIMESTAMP_NTZ, its
    TIMESTAMPTZ Spark's TIMESTAMP: sqlglot knows)."""
    return ", ".join(f"{name} {exp.DataType.build(typ, dialect='duckdb').sql('spark')}"
                     for name, typ in duckdb_schema(relation).items())


# Lake globs of the inputs (relative to the lake root); `wanted` picks the extract days of a run.
INPUT_GLOBS = {
    **{t: paths.branch_extract(t, "*", "*") for t in _READ},
    "bajas": paths.tombstones("*", "*", "*"),
}


def wanted(relation: str, path: str, desde: date, hasta: date) -> bool:
    """Whether a file belongs to a run over extract (or tombstone detection) days `[desde, hasta]`."""
    day = date.fromisoformat(next(p.split("=", 1)[1] for p in path.split("/") if p.startswith("fecha=")))
    return desde <= day <= hasta


# Local-time intervals are computed for this range; a payment outside it has no offset and its
# fecha_pago_utc is NULL.
ZONE_YEARS = (1900, 2100)


@lru_cache(maxsize=64)
def zone_intervals(zone: str) -> tuple[tuple[datetime, datetime, int], ...]:
    """[local_desde, local_hasta) → UTC offset in seconds, for one IANA zone over ZONE_YEARS.

    A local time inside a fall-back overlap or a spring-forward gap takes the offset in force before
    the transition (Python's fold=0, Java's default): each interval starts at the transition's UTC
    instant plus the larger of the two offsets around it.
    """
    tz = ZoneInfo(zone)
    start = datetime(ZONE_YEARS[0], 1, 1, tzinfo=UTC)
    end = datetime(ZONE_YEARS[1], 1, 1, tzinfo=UTC)

    def offset(t: datetime) -> int:
        return int(t.astimezone(tz).utcoffset().total_seconds())

    transitions = []  # (utc instant, offset before, offset after)
    t, current = start, offset(start)
    while t < end:
        nxt = min(t + timedelta(days=7), end)
        if offset(nxt) != current:
            lo, hi = t, nxt  # bisect to the second: the offset changes in (lo, hi]
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            transitions.append((hi, current, offset(hi)))
            current = offset(hi)
        t = nxt
    naive = lambda t: t.replace(tzinfo=None)  # noqa: E731
    bounds = [naive(start + timedelta(seconds=offset(start)))]
    bounds += [naive(when + timedelta(seconds=max(before, after))) for when, before, after in transitions]
    bounds.append(naive(end + timedelta(seconds=current)))
    offsets = [offset(start)] + [after for _, _, after in transitions]
    return tuple((bounds[i], bounds[i + 1], offsets[i]) for i in range(len(offsets)))


def zones_rows(zones) -> list[tuple[str, datetime, datetime, int]]:
    """Rows of the `zonas` relation (zona_horaria, local_desde, local_hasta, offset_segundos)."""
    return [(z, a, b, o) for z in sorted(set(zones)) for a, b, o in zone_intervals(z)]
