"""The data catalog export: OpenLineage datasets (schema, column lineage, ownership, tags) and a DataZone-style listing.

Both documents are pure functions of the inventory, serialized with sorted keys and no timestamps, so
the same graph always gives the same bytes.
"""

from __future__ import annotations

import json

from podemos_assets.gobierno.access import redshift_relation
from podemos_assets.gobierno.inventory import GovernedAsset

PRODUCER = "https://github.com/podemos/podemos-assets/tree/main/podemos_assets/gobierno"
DAGSTER_NAMESPACE = "dagster://podemos"
WAREHOUSE_NAMESPACE = "warehouse://podemos"  # the same logical name for DuckDB and Redshift


def dataset_id(asset: GovernedAsset) -> tuple[str, str]:
    """OpenLineage (namespace, name): the warehouse relation, the file prefix, or the Dagster asset key."""
    if asset.layout is not None and asset.layout.table:
        return WAREHOUSE_NAMESPACE, redshift_relation(asset.layout.table)
    if asset.files:
        resource, prefix = asset.files
        return f"podemos-{resource}://podemos", prefix
    return DAGSTER_NAMESPACE, asset.key


def _facets(asset: GovernedAsset, by_key: dict[str, GovernedAsset]) -> dict:
    # Here, not at module level: the OpenLineage client costs ~1 s to import, on every definitions load.
    from openlineage.client.generated import (
        column_lineage_dataset,
        dataset_type_dataset,
        documentation_dataset,
        ownership_dataset,
        schema_dataset,
        tags_dataset,
    )

    facets: dict = {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=c["name"], type=c["dtype"], description=c["description"] or None, ordinal_position=i + 1
                )
                for i, c in enumerate(asset.columns)
            ],
            producer=PRODUCER,
        ),
        "ownership": ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=o, type=o.split(":", 1)[0]) for o in asset.owners], producer=PRODUCER
        ),
    }
    if asset.description:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=asset.description, contentType="text/markdown", producer=PRODUCER
        )
    tags = [
        tags_dataset.TagsDatasetFacetFields(key=k, value=v, source="podemos-gobierno")
        for k, v in (("domain", asset.domain), ("criticality", asset.criticality), ("audience", asset.audience))
        if v
    ]
    for c in asset.columns:
        for key in ("classification", "glossary"):
            if c[key]:
                tags.append(tags_dataset.TagsDatasetFacetFields(key=key, value=c[key], source="podemos-gobierno", field=c["name"]))
    facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags, producer=PRODUCER)
    if asset.layout is not None:
        facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(
            datasetType="TABLE" if asset.layout.is_table else "VIEW", producer=PRODUCER
        )
    lineage = {}
    for col, deps in asset.column_lineage.items():
        inputs = []
        for up_key, up_col in deps:
            up = by_key.get(up_key)
            ns, name = dataset_id(up) if up else (DAGSTER_NAMESPACE, up_key)
            inputs.append(column_lineage_dataset.InputField(namespace=ns, name=name, field=up_col))
        lineage[col] = column_lineage_dataset.Fields(inputFields=inputs)
    if lineage:
        facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(fields=lineage, producer=PRODUCER)
    return facets


def openlineage_document(assets: list[GovernedAsset]) -> dict:
    """`{"producer", "datasets": [OpenLineage Dataset, ...]}` for every asset with a column schema."""
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.serde import Serde

    by_key = {a.key: a for a in assets}
    datasets = []
    for asset in assets:
        namespace, name = dataset_id(asset)
        datasets.append(Serde.to_dict(Dataset(namespace=namespace, name=name, facets=_facets(asset, by_key))))
    return {"producer": PRODUCER, "datasets": datasets}


def datazone_document(assets: list[GovernedAsset]) -> dict:
    """A DataZone-style listing: glossary, and per asset its domain, owner, glossary terms and column classes."""
    terms = sorted({c["glossary"] for a in assets for c in a.columns if c["glossary"]})
    listing = []
    for asset in assets:
        namespace, name = dataset_id(asset)
        listing.append(
            {
                "name": asset.key,
                "externalIdentifier": f"{namespace}/{name}",
                "typeIdentifier": "amazon.datazone.RelationalTableAssetType"
                if asset.layout is not None
                else "podemos.DagsterAsset",
                "description": asset.description,
                "domain": asset.domain,
                "owningProject": asset.owners[0] if asset.owners else None,
                "owners": list(asset.owners),
                "glossaryTerms": sorted({c["glossary"] for c in asset.columns if c["glossary"]}),
                "formsInput": [
                    {
                        "formName": "PodemosGobierno",
                        "content": {"criticality": asset.criticality, "audience": asset.audience, "group": asset.group},
                    },
                    {
                        "formName": "ColumnClassification",
                        "content": {
                            "columns": [
                                {
                                    "columnName": c["name"],
                                    "dataType": c["dtype"],
                                    "description": c["description"],
                                    "classification": c["classification"],
                                    "glossaryTerms": [c["glossary"]] if c["glossary"] else [],
                                }
                                for c in asset.columns
                            ]
                        },
                    },
                ],
            }
        )
    return {
        "domain": "podemos",
        "glossary": {"name": "Glosario podemos", "terms": [{"name": t} for t in terms]},
        "assets": listing,
    }


def column_rows(assets: list[GovernedAsset]) -> list[dict]:
    """The catalog as one row per column (the `catalogo_datos` table)."""
    return [
        {
            "activo": a.key,
            "columna": c["name"],
            "tipo": c["dtype"],
            "descripcion": c["description"],
            "clasificacion": c["classification"] or "",
            "glosario": c["glossary"] or "",
            "duenos": ",".join(a.owners),
            "dominio": a.domain or "",
            "criticidad": a.criticality or "",
            "audiencia": a.audience or "",
        }
        for a in assets
        for c in a.columns
    ]


def to_json_bytes(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
