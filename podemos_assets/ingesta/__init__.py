"""The field-event ingestion service, outside Dagster: the wire contract (`protocol`), the handler core
(`service`), its HTTP app (`app`, `server`, `podemos ingest serve`) and AWS Lambda entry point
(`lambda_handler`), the landing zone's record format (`landing`) and the device SDK (`sdk`).

It writes the landing zone; the Dagster capability `campo` reads it (campo imports the contract from
here, never the other way). See docs/campo.md.
"""
