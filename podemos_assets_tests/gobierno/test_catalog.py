"""catalogo_datos: OpenLineage datasets valid against openlineage-python's models, a DataZone-style listing, same bytes on re-run."""

from __future__ import annotations

import json

import attrs
import dagster as dg
from openlineage.client.event_v2 import Dataset
from openlineage.client.generated import (
    column_lineage_dataset,
    dataset_type_dataset,
    documentation_dataset,
    ownership_dataset,
    schema_dataset,
    tags_dataset,
)
from openlineage.client.serde import Serde

from podemos_assets.gobierno.assets import CATALOG_PREFIX, catalogo_datos
from podemos_assets_tests.gobierno.fixtures import governed_defs

# facet name in the document -> (facet class, {list/dict field: item class})
FACETS = {
    "schema": (schema_dataset.SchemaDatasetFacet, {"fields": schema_dataset.SchemaDatasetFacetFields}),
    "ownership": (ownership_dataset.OwnershipDatasetFacet, {"owners": ownership_dataset.Owner}),
    "documentation": (documentation_dataset.DocumentationDatasetFacet, {}),
    "tags": (tags_dataset.TagsDatasetFacet, {"tags": tags_dataset.TagsDatasetFacetFields}),
    "datasetType": (dataset_type_dataset.DatasetTypeDatasetFacet, {}),
    "columnLineage": (column_lineage_dataset.ColumnLineageDatasetFacet, {"fields": column_lineage_dataset.Fields}),
}


def _build(cls, data: dict, nested: dict):
    """Instantiate an openlineage attrs class from its JSON form; unknown or missing fields raise TypeError."""
    kwargs = {}
    for key, value in data.items():
        if key == "_producer":
            kwargs["producer"] = value
        elif key == "_schemaURL":
            continue  # derived from the class by the client
        elif key in nested and isinstance(value, list):
            kwargs[key] = [_build(nested[key], v, {}) for v in value]
        elif key in nested and isinstance(value, dict):
            kwargs[key] = {k: _build(nested[key], v, {"inputFields": column_lineage_dataset.InputField}) for k, v in value.items()}
        elif key == "inputFields":
            kwargs[key] = [_build(column_lineage_dataset.InputField, v, {}) for v in value]
        else:
            kwargs[key] = value
    obj = cls(**kwargs)
    attrs.validate(obj)
    return obj


def validate_openlineage_dataset(doc: dict) -> Dataset:
    facets = {name: _build(*FACETS[name][:1], body, FACETS[name][1]) for name, body in doc["facets"].items()}
    dataset = Dataset(namespace=doc["namespace"], name=doc["name"], facets=facets)
    assert Serde.to_dict(dataset) == doc, "the document does not round-trip through openlineage-python's model"
    return dataset


def materialize(defs: dg.Definitions, *assets, instance=None) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    selection = dg.AssetSelection.assets(*assets).resolve(defs.resolve_asset_graph())
    return job.get_subset(asset_selection=selection).execute_in_process(instance=instance or dg.DagsterInstance.ephemeral())


def test_catalog_exports_valid_openlineage_and_datazone_listing_deterministically(resources):
    defs = governed_defs(catalogo_datos, resources=resources)
    first = materialize(defs, catalogo_datos)
    lake = resources["lake"]
    files = {n: lake.read_bytes(CATALOG_PREFIX + n) for n in ("openlineage.json", "datazone.json", "columnas.parquet")}
    second = materialize(defs, catalogo_datos)
    assert {n: lake.read_bytes(CATALOG_PREFIX + n) for n in files} == files  # same graph, same bytes
    meta = first.asset_materializations_for_node("catalogo_datos")[0].metadata
    assert meta["governance_violations"].value == 0 and meta["assets"].value == 4
    assert second.success

    ol = json.loads(files["openlineage.json"])
    datasets = {d["name"]: validate_openlineage_dataset(d) for d in ol["datasets"]}
    assert set(datasets) == {"public.clientes_wh", "public.resumen_clientes", "analistas/", "gobierno/catalogo/"}
    resumen = datasets["public.resumen_clientes"].facets
    lineage = resumen["columnLineage"].fields["curp"].inputFields
    assert [(f.namespace, f.name, f.field) for f in lineage] == [("warehouse://podemos", "public.clientes_wh", "curp")]
    curp_tags = {(t.key, t.value) for t in resumen["tags"].tags if t.field == "curp"}
    assert curp_tags == {("classification", "pii"), ("glossary", "CURP")}
    assert [o.name for o in resumen["ownership"].owners] == ["team:datos-pagos"]
    assert resumen["datasetType"].datasetType == "VIEW"

    dz = json.loads(files["datazone.json"])
    by_name = {a["name"]: a for a in dz["assets"]}
    clientes = by_name["clientes_wh"]
    assert clientes["domain"] == "cartera" and clientes["owningProject"] == "team:datos-pagos"
    assert clientes["glossaryTerms"] == ["CURP", "cliente"]
    columns = {c["columnName"]: c["classification"] for c in clientes["formsInput"][1]["content"]["columns"]}
    assert columns == {"id_cliente": "sensible", "nombre": "pii", "curp": "pii", "telefono": "pii",
                       "fecha_nacimiento": "pii", "sucursal": "publico"}
    assert {"name": "CURP"} in dz["glossary"]["terms"]


def test_catalog_reports_violations_of_an_ungoverned_asset(resources):
    @dg.asset
    def sin_metadatos():
        return 1

    defs = governed_defs(catalogo_datos, sin_metadatos, resources=resources)
    meta = materialize(defs, catalogo_datos).asset_materializations_for_node("catalogo_datos")[0].metadata
    assert meta["governance_violations"].value >= 4
    assert "sin_metadatos: no owner" in meta["violations"].value


def test_inventory_reads_the_same_graph_from_a_code_server_repository():
    # In a code server assets get `context.repository_def`; in-process runs get the definitions.
    from podemos_assets.gobierno.inventory import inventory

    defs = governed_defs()
    assert inventory(defs.get_repository_def()) == inventory(defs)
