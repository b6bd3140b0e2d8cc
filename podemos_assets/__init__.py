"""podemos-assets: the data platform of Podemos (branch ETL, payments warehouse, field events,
regulatory report, governance) as Dagster assets."""
