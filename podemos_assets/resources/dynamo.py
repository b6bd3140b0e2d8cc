"""The field-ingestion idempotency and replay store on DynamoDB: the production twin of the SQLite store.

Every Lambda container sees the same tables, so a claim or a used signature is global (a per-container
SQLite file would give each container its own idempotency and its own replay guard).
- `campo_eventos` (PK `event_id`): claim = `PutItem` with `attribute_not_exists(event_id)`; on
  `ConditionalCheckFailedException` the stored item (returned with the failure) says duplicate, in
  flight or conflict; commit = `UpdateItem SET committed = true` for exactly the ids that landed.
- `campo_firmas` (PK `firma`, TTL attribute `expira`): `PutItem` with `attribute_not_exists(firma) OR
  expira < :now`; DynamoDB deletes expired items lazily (up to days later), hence the explicit test.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from podemos_assets.resources.idempotency import CONFLICT, DUPLICATE, IN_FLIGHT, NEW, Claim

_PARALLEL = 16  # DynamoDB has no conditional batch put: one PutItem per event, a few in flight at once


class DynamoIdempotencyStore:
    def __init__(self, events_table: str = "campo_eventos", signatures_table: str = "campo_firmas",
                 endpoint_url: str | None = None, region: str | None = None):
        import boto3

        self.events_table, self.signatures_table = events_table, signatures_table
        self.client = boto3.client("dynamodb", endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
                                   region_name=region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        self._pool = ThreadPoolExecutor(_PARALLEL, thread_name_prefix="dynamo-claim")

    def ensure_tables(self) -> None:
        """Create both tables (on-demand capacity) and the signatures' TTL, if missing (deploy, tests)."""
        existing = set(self.client.list_tables()["TableNames"])
        for table, key in ((self.events_table, "event_id"), (self.signatures_table, "firma")):
            if table in existing:
                continue
            self.client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                     KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                                     AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}])
            self.client.get_waiter("table_exists").wait(TableName=table)
        self.client.update_time_to_live(TableName=self.signatures_table,
                                        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expira"})

    def _claim_one(self, batch_id: str, event_id: str, h: str) -> Claim:
        try:
            self.client.put_item(
                TableName=self.events_table,
                Item={"event_id": {"S": event_id}, "hash": {"S": h}, "batch_id": {"S": batch_id},
                      "committed": {"BOOL": False}},
                ConditionExpression="attribute_not_exists(event_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return Claim(event_id, NEW)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            item = exc.response.get("Item") or self.client.get_item(
                TableName=self.events_table, Key={"event_id": {"S": event_id}}, ConsistentRead=True)["Item"]
        if item["hash"]["S"] != h:
            return Claim(event_id, CONFLICT)
        return Claim(event_id, DUPLICATE if item["committed"]["BOOL"] else IN_FLIGHT)

    def claim(self, batch_id: str, events: list[tuple[str, str]]) -> list[Claim]:
        """One Claim per (event_id, hash), in order; the ids must be distinct (see IdempotencyStore)."""
        return list(self._pool.map(lambda e: self._claim_one(batch_id, *e), events))

    def _commit_one(self, event_id: str) -> None:
        self.client.update_item(TableName=self.events_table, Key={"event_id": {"S": event_id}},
                                UpdateExpression="SET committed = :t", ConditionExpression="attribute_exists(event_id)",
                                ExpressionAttributeValues={":t": {"BOOL": True}})

    def commit(self, batch_id: str, event_ids: list[str]) -> None:
        """The landing object is durable: exactly these claims become final duplicates."""
        list(self._pool.map(self._commit_one, event_ids))

    def first_use_of_signature(self, signature: str, expires_at: float, now: float) -> bool:
        """True the first time a signature is seen; remembered (TTL) until it stops being fresh."""
        try:
            self.client.put_item(
                TableName=self.signatures_table,
                Item={"firma": {"S": signature}, "expira": {"N": str(int(expires_at) + 1)}},
                ConditionExpression="attribute_not_exists(firma) OR expira < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
            return True
        except self.client.exceptions.ConditionalCheckFailedException:
            return False

    def counts(self) -> dict[str, int]:
        pages = self.client.get_paginator("scan").paginate(TableName=self.events_table)
        rows = [i for page in pages for i in page["Items"]]
        return {"eventos": len(rows), "confirmados": sum(r["committed"]["BOOL"] for r in rows)}
