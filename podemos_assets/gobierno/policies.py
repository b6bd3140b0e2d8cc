"""Ownership, domain and criticality, applied once per asset group (never per asset).

`apply_group_policies` maps over every asset spec in the definitions, so a new asset cannot forget
its owner: it inherits its group's. An asset may still declare its own owners; they are kept.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import dagster as dg

from podemos_assets.contracts.vocabulary import Criticality


@dataclass(frozen=True)
class GroupPolicy:
    owners: tuple[str, ...]
    domain: str
    criticality: Criticality


GROUP_POLICIES: dict[str, GroupPolicy] = {
    "sucursales": GroupPolicy(("team:datos-sucursales",), "operaciones", Criticality.ALTA),
    "pagos": GroupPolicy(("team:datos-pagos",), "cartera", Criticality.ALTA),
    "campo": GroupPolicy(("team:app-campo",), "operaciones", Criticality.MEDIA),
    "regulatorio": GroupPolicy(("team:cumplimiento",), "regulatorio", Criticality.ALTA),
    "gobierno": GroupPolicy(("team:gobierno-datos",), "gobierno", Criticality.MEDIA),
}


def _with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    policy = GROUP_POLICIES.get(spec.group_name or "")
    if policy is None:
        return spec  # the governance gate reports assets outside a governed group
    tags = {"domain": policy.domain, "criticality": policy.criticality.value, **spec.tags}
    return spec.replace_attributes(owners=list(spec.owners) or list(policy.owners), tags=tags)


GRAPH_RESOURCE = "gobierno_grafo"


class GovernedGraph:
    """The final definitions, handed to gobierno's assets as a resource.

    In a code server Dagster gives assets `context.repository_def`; in-process runs (the demo, tests)
    have no repository, so the catalog and the PII scan read the graph from here instead.
    """

    def __init__(self) -> None:
        self.definitions: dg.Definitions | None = None


def apply_group_policies(defs: dg.Definitions) -> dg.Definitions:
    """Owners, domain and criticality on every asset, and the governed graph as a resource."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # map_asset_specs is stable enough for us
        mapped = defs.map_asset_specs(func=_with_policy)
    if GRAPH_RESOURCE in (defs.resources or {}):
        return mapped
    holder = GovernedGraph()
    final = dg.Definitions.merge(
        mapped, dg.Definitions(resources={GRAPH_RESOURCE: dg.ResourceDefinition.hardcoded_resource(holder)})
    )
    holder.definitions = final
    return final
