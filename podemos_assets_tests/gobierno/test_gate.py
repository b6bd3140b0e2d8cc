"""The governance gate over the real definitions, and proof that it catches an asset added without metadata."""

from __future__ import annotations

import dagster as dg
import pandera.pandas as pda

from podemos_assets.contracts.vocabulary import Classification as C
from podemos_assets.contracts.vocabulary import column, schema_metadata, warehouse_table
from podemos_assets.definitions import defs
from podemos_assets.gobierno import apply_group_policies
from podemos_assets.gobierno.gate import governance_violations
from podemos_assets_tests.gobierno.fixtures import SPECS, Clientes, governed_defs


def test_every_asset_declares_owner_description_schema_classification_and_sort_key():
    violations = governance_violations(defs)
    assert not violations, f"{len(violations)} governance violations:\n" + "\n".join(violations)


def test_gobierno_assets_are_fully_governed():
    graph = defs.resolve_asset_graph()
    ours = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "gobierno"]
    assert {k.to_user_string() for k in ours} >= {"catalogo_datos", "escaneo_pii"}
    assert [v for v in governance_violations(defs) if v.split(":")[0] in {k.to_user_string() for k in ours}] == []


def test_every_column_shows_description_and_classification_tag_in_the_ui():
    # What the UI renders: owners and TableColumn description + tags on each asset's definition.
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name != "gobierno":
            continue
        assert node.owners == ["team:gobierno-datos"]
        schema = node.metadata["dagster/column_schema"]
        assert schema.columns and all(c.description and c.tags.get("classification") for c in schema.columns)


def test_bare_asset_is_caught_naming_the_asset_and_what_is_missing():
    @dg.asset
    def tabla_sin_gobierno():
        return 1

    violations = governance_violations(governed_defs(tabla_sin_gobierno))
    assert violations and all(v.startswith("tabla_sin_gobierno: ") for v in violations)
    text = "\n".join(violations)
    for missing in ("no owner", "no description", "no column schema", "has no policy"):
        assert missing in text


def test_unclassified_column_is_caught():
    class Mixta(pda.DataFrameModel):
        a: str = column("Governed", C.PUBLICO)
        b: str = pda.Field(description="declared without contracts.column")

    spec = dg.AssetSpec("mixta", group_name="pagos", description="x", metadata=schema_metadata(Mixta))
    assert governance_violations(governed_defs(spec)) == [
        "mixta: column 'b' has no classification (contracts.column(..., Classification.X): one of "
        "['pii', 'publico', 'sensible'])"
    ]


def test_warehouse_table_without_sort_key_is_caught_but_a_view_needs_none():
    table = dg.AssetSpec(
        "sin_orden", group_name="pagos", description="x",
        metadata={**schema_metadata(Clientes), **warehouse_table("main.sin_orden", [])},
    )
    kind_only = dg.AssetSpec(
        "solo_kind", group_name="pagos", description="x", kinds={"duckdb"}, metadata=schema_metadata(Clientes)
    )
    bad_key = dg.AssetSpec(
        "orden_raro", group_name="pagos", description="x",
        metadata={**schema_metadata(Clientes), **warehouse_table("main.orden_raro", ["fecha_pago"])},
    )
    violations = governance_violations(governed_defs(table, kind_only, bad_key))
    assert any(v.startswith("sin_orden: warehouse table main.sin_orden has no sort key") for v in violations)
    assert any(v.startswith("solo_kind: writes to the warehouse but declares no dagster/table_name") for v in violations)
    assert "orden_raro: sort/dist key column 'fecha_pago' is not in the column schema" in violations
    # the fixture's view (resumen_clientes) and sorted table (clientes_wh) raise nothing
    assert not [v for v in violations if v.split(":")[0] in {s.key.to_user_string() for s in SPECS}]


def test_dbt_model_declares_sort_key_through_its_config():
    # dagster-dbt gives column tags as {tag: ""} and the materialization; the sort key comes from config.sort.
    schema = dg.TableSchema(columns=[dg.TableColumn("fecha", "date", description="d", tags={"publico": ""})])
    base = {"dagster/column_schema": schema, "dagster-dbt/materialization_type": "table", "dagster/table_name": "w.main.r"}
    unsorted = dg.AssetSpec("reporte_dbt", group_name="pagos", description="x", metadata=base)
    sorted_ = dg.AssetSpec("reporte_dbt_ok", group_name="pagos", description="x", metadata={**base, "podemos/sort_key": "fecha"})
    # what dagster-dbt attaches: the manifest and the node id, so config(sort=[...]) is read from there
    from dagster_dbt.dagster_dbt_translator import DbtManifestWrapper

    manifest = {"nodes": {"model.p.r": {"config": {"materialized": "table", "sort": ["fecha"], "dist": "fecha"}},
                          "model.p.s": {"config": {"materialized": "table"}}}}
    from_manifest = [
        dg.AssetSpec(name, group_name="pagos", description="x", metadata={
            **base, "dagster_dbt/manifest": DbtManifestWrapper(manifest=manifest), "dagster_dbt/unique_id": uid})
        for name, uid in (("dbt_con_sort", "model.p.r"), ("dbt_sin_sort", "model.p.s"))
    ]
    violations = governance_violations(apply_group_policies(dg.Definitions(assets=[unsorted, sorted_, *from_manifest])))
    assert [v.split(":")[0] for v in violations] == ["dbt_sin_sort", "reporte_dbt"]


def test_dbt_translator_turns_config_sort_and_column_tags_into_governed_metadata():
    from podemos_assets.contracts.dbt import GovernedDbtTranslator

    props = {
        "unique_id": "model.podemos.reporte", "name": "reporte", "resource_type": "model", "fqn": ["podemos", "reporte"],
        "database": "warehouse", "schema": "main", "alias": "reporte", "description": "A report.",
        "config": {"materialized": "table", "sort": ["fecha_pago", "sucursal"], "dist": "sucursal", "meta": {}},
        "meta": {}, "tags": [],
        "columns": {
            "fecha_pago": {"name": "fecha_pago", "data_type": "date", "description": "Day.", "tags": ["publico"]},
            "sucursal": {"name": "sucursal", "data_type": "varchar", "description": "Branch.", "meta": {"classification": "publico"}},
            "curp": {"name": "curp", "data_type": "varchar", "description": "CURP.", "tags": ["pii"], "meta": {"glossary": "CURP"}},
        },
    }
    meta = GovernedDbtTranslator().get_metadata(props)
    assert meta["podemos/sort_key"] == "fecha_pago,sucursal" and meta["podemos/dist_key"] == "sucursal"
    tags = {c.name: c.tags for c in meta["dagster/column_schema"].columns}
    assert tags == {"fecha_pago": {"classification": "publico"}, "sucursal": {"classification": "publico"},
                    "curp": {"classification": "pii", "glossary": "CURP"}}
    spec = dg.AssetSpec("reporte", group_name="pagos", description="A report.", metadata=meta)
    assert governance_violations(apply_group_policies(dg.Definitions(assets=[spec]))) == []
