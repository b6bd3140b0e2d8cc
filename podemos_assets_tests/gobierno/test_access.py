"""Redshift access SQL: generated from the classification, committed, and parsed statement by statement.

sqlglot's Redshift dialect parses the column-level GRANT/REVOKE; it has no grammar for CREATE ROLE,
CREATE/ATTACH MASKING POLICY (it falls back to an opaque Command), so those are checked against
Redshift's documented statement shape and their embedded expressions are parsed by sqlglot (Redshift).
"""

from __future__ import annotations

import os
import re

import sqlglot
from sqlglot import exp

from podemos_assets.definitions import defs
from podemos_assets.gobierno.access import ANALYST_ROLE, ROLES_SQL, roles_sql
from podemos_assets.gobierno.inventory import inventory
from podemos_assets_tests.gobierno.fixtures import governed_defs

IDENT = r'[A-Za-z_][A-Za-z0-9_]*'
REL = rf'{IDENT}\.{IDENT}'
CREATE_ROLE = re.compile(rf"^CREATE ROLE ({IDENT});$")
CREATE_POLICY = re.compile(rf"^CREATE MASKING POLICY ({IDENT}) WITH \(({IDENT}) ([A-Z ]+(?:\(\d+(?:,\d+)?\))?)\) USING \((.+)\);$")
ATTACH_POLICY = re.compile(rf'^ATTACH MASKING POLICY ({IDENT}) ON ({REL})\("({IDENT})"\) TO ROLE ({IDENT}) PRIORITY (\d+);$')


def parse_statements(sql: str) -> list[tuple[str, object]]:
    """(kind, parsed) per statement; raises AssertionError on anything Redshift would not accept."""
    out = []
    for line in sql.splitlines():
        if not line.strip() or line.startswith("--"):
            continue
        if m := CREATE_ROLE.match(line):
            out.append(("create_role", m.groups()))
        elif m := CREATE_POLICY.match(line):
            name, arg, rs_type, expression = m.groups()
            sqlglot.parse_one(f"CAST(NULL AS {rs_type})", read="redshift")  # the type is valid Redshift
            parsed = sqlglot.parse_one(expression, read="redshift")
            assert {c.name for c in parsed.find_all(exp.Column)} <= {arg}, line
            out.append(("create_policy", (name, rs_type, parsed)))
        elif m := ATTACH_POLICY.match(line):
            out.append(("attach_policy", m.groups()))
        else:
            parsed = sqlglot.parse_one(line, read="redshift", error_level=sqlglot.ErrorLevel.RAISE)
            assert not isinstance(parsed, exp.Command), f"sqlglot could not parse: {line}"
            out.append((type(parsed).__name__.lower(), parsed))
    return out


def test_committed_roles_sql_matches_the_classification():
    generated = roles_sql(inventory(defs))
    if os.environ.get("PODEMOS_UPDATE_SNAPSHOT") or not ROLES_SQL.exists():
        ROLES_SQL.parent.mkdir(parents=True, exist_ok=True)
        ROLES_SQL.write_text(generated)
    assert ROLES_SQL.read_text() == generated, (
        f"{ROLES_SQL} is stale: the warehouse tables or their classifications changed. Regenerate with "
        "PODEMOS_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest podemos_assets_tests/gobierno/test_access.py "
        "and review the diff."
    )
    parse_statements(ROLES_SQL.read_text())


def test_analysts_get_pii_columns_only_through_masking_policies():
    statements = parse_statements(roles_sql(inventory(governed_defs())))
    policies = {name: rs_type for kind, (name, rs_type, _) in (s for s in statements if s[0] == "create_policy")}
    attached = {(rel, col): (policy, role) for kind, (policy, rel, col, role, _) in
                (s for s in statements if s[0] == "attach_policy")}
    # every PII column of the table is masked for analysts, with a policy of the column's type
    assert set(attached) == {("public.clientes_wh", c) for c in ("nombre", "curp", "telefono", "fecha_nacimiento")}
    assert all(role == ANALYST_ROLE and policy in policies for policy, role in attached.values())
    assert policies[attached[("public.clientes_wh", "fecha_nacimiento")][0]] == "TIMESTAMP"
    assert policies[attached[("public.clientes_wh", "curp")][0]] == "VARCHAR(256)"
    grants = [p for kind, p in statements if kind == "grant"]
    by_role_and_table = {}
    for g in grants:
        sql = g.sql("redshift")
        by_role_and_table[(g.args["securable"].sql("redshift"), sql.rsplit(" ", 1)[-1])] = sql
    # on the view (no masking policies possible) analysts see no PII column at all
    view_grant = by_role_and_table[("public.resumen_clientes", ANALYST_ROLE)]
    assert "id_cliente" in view_grant and "curp" not in view_grant
    # compliance reads everything unmasked
    assert "cumplimiento" in {k[1] for k in by_role_and_table}
    assert not any(rel == "public.resumen_clientes" for rel, _ in attached)


def test_parser_rejects_what_redshift_would_reject():
    import pytest

    with pytest.raises((AssertionError, sqlglot.errors.ParseError)):
        parse_statements("ATTACH MASKING POLICY p ON t(curp) TO analista;")  # no ROLE, unqualified table
    with pytest.raises((AssertionError, sqlglot.errors.ParseError)):
        parse_statements("CREATE MASKING POLICY p WITH (valor VARCHAR(256)) USING (CASE WHEN otra THEN 1 END);")
