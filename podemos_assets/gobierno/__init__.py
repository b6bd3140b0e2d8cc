"""Governance (`gobierno`): reads the graph (the vocabulary is `podemos_assets.contracts`): group policies, the catalog, the PII scan and the CI gate."""

import dagster as dg

from podemos_assets.gobierno.policies import GROUP_POLICIES, apply_group_policies

__all__ = ["GROUP_POLICIES", "apply_group_policies", "defs"]


def _build_defs() -> dg.Definitions:
    # Imported here so that capabilities importing the vocabulary do not load the assets' dependencies.
    from podemos_assets.gobierno.assets import catalogo_datos, escaneo_pii

    return dg.Definitions(assets=[catalogo_datos, escaneo_pii])


defs = _build_defs()
