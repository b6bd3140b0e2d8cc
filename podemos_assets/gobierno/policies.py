"""Ownership, domain and criticality, applied once per asset group (never per asset).

`apply_group_policies` maps over every asset spec in the definitions, so a new asset cannot forget
its owner: it inherits its group's. An asset may still declare its own owners; they are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import dagster as dg

from podemos_assets.gobierno.vocabulary import Criticality


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


def apply_group_policies(defs: dg.Definitions) -> dg.Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # map_asset_specs is stable enough for us
        return defs.map_asset_specs(func=_with_policy)
