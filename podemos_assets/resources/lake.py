"""The lake: raw extracts, landing zone and quarantine, as files under one URL (file:// or s3://).

Paths inside the lake are relative and Hive-style (`raw/sucursales/transacciones/fecha=2026-11-03/
sucursal=suc_001/part-0.parquet`), identical locally and on S3. Writes are atomic: locally a temp file
is fsync'd and renamed, on S3 a single PUT is atomic; a crashed run never leaves a file that looks
complete, and a re-run overwrites (idempotent).
"""

from __future__ import annotations

import io
import os
import posixpath
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from urllib.parse import urlparse

import dagster as dg
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pydantic import PrivateAttr

# Fixed writer options so that the same table always gives the same bytes.
PARQUET_OPTIONS = dict(compression="zstd", use_dictionary=True, write_statistics=True, store_schema=True)


def write_parquet_bytes(table: pa.Table) -> bytes:
    """Serialise a table as Parquet with the lake's fixed options (deterministic bytes)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue()


class LakeResource(dg.ConfigurableResource):
    """Files under `url`; `s3_endpoint_url` points S3 at a non-AWS endpoint (moto in tests)."""

    url: str
    s3_endpoint_url: str | None = None

    _fs: pafs.FileSystem | None = PrivateAttr(default=None)
    _root: str = PrivateAttr(default="")

    def _filesystem(self) -> tuple[pafs.FileSystem, str]:
        if self._fs is None:
            parsed = urlparse(self.url)
            if parsed.scheme == "s3":
                endpoint = self.s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
                self._fs = pafs.S3FileSystem(
                    endpoint_override=endpoint,
                    region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                    allow_bucket_creation=True,
                )
                self._root = f"{parsed.netloc}{parsed.path}".rstrip("/")
            elif parsed.scheme == "file":
                self._fs = pafs.LocalFileSystem()
                self._root = parsed.path.rstrip("/")
            else:
                raise ValueError(f"Lake URL {self.url!r}: only file:// and s3:// are supported.")
        return self._fs, self._root

    @property
    def is_local(self) -> bool:
        return urlparse(self.url).scheme == "file"

    def uri(self, key: str) -> str:
        """The full URL of a lake path, for metadata and messages."""
        return f"{self.url}/{key}"

    def local_path(self, key: str) -> str:
        """The filesystem path of a key; only for the local lake (e.g. to hand a glob to DuckDB)."""
        if not self.is_local:
            raise ValueError(f"{self.url} is not a local lake")
        return posixpath.join(self._filesystem()[1], key)

    def _full(self, key: str) -> str:
        return posixpath.join(self._filesystem()[1], key)

    def write_bytes(self, key: str, data: bytes) -> str:
        fs, _ = self._filesystem()
        full = self._full(key)
        if self.is_local:
            os.makedirs(posixpath.dirname(full), exist_ok=True)
            tmp = f"{full}.tmp-{uuid.uuid4().hex}"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, full)
            dir_fd = os.open(posixpath.dirname(full), os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # make the rename itself durable
            finally:
                os.close(dir_fd)
        else:
            with fs.open_output_stream(full) as out:
                out.write(data)
        return self.uri(key)

    def create_bytes(self, key: str, data: bytes, mode: int = 0o600) -> bool:
        """Write `key` only if it does not exist yet, durably; False (and nothing written) if it does.

        Never replaces a file, unlike `write_bytes`: locally a temp file (owner-only by default) is
        fsync'd and hard-linked into place (the link fails if the name exists), on S3 a PUT with
        `If-None-Match: *` (S3 answers 412 if the key exists)."""
        return self.create_many([(key, data)], mode)[0]

    def create_many(self, items: Sequence[tuple[str, bytes]], mode: int = 0o600) -> list[bool]:
        """`create_bytes` for several keys at once, one answer per item (a key repeated in `items` is
        created by its first item). Locally each file is fsync'd, and each folder once after all its new
        names are linked: a directory fsync per file cost about a third of a photo's durable create."""
        if not self.is_local:
            client = self._s3_client()  # one client per call: creating one costs more than a small PUT
            return [self._s3_create(client, key, data) for key, data in items]
        fulls = [self._full(key) for key, _ in items]
        for folder in {posixpath.dirname(full) for full in fulls}:
            os.makedirs(folder, exist_ok=True)
        tmps: list[str] = []
        created: list[bool] = []
        try:
            for full, (_, data) in zip(fulls, items):
                tmp = f"{full}.tmp-{uuid.uuid4().hex}"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
                tmps.append(tmp)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            for full, tmp in zip(fulls, tmps):
                try:
                    os.link(tmp, full)
                    created.append(True)
                except FileExistsError:
                    created.append(False)
        finally:
            for tmp in tmps:
                os.unlink(tmp)
        for folder in {posixpath.dirname(full) for full, new in zip(fulls, created) if new}:
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # make the new names themselves durable
            finally:
                os.close(dir_fd)
        return created

    def _s3_client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
                            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

    def _s3_create(self, client, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        parsed = urlparse(self.url)
        try:
            client.put_object(Bucket=parsed.netloc, Key=posixpath.join(parsed.path.strip("/"), key).lstrip("/"),
                              Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise
        return True

    def write_parquet(self, key: str, table: pa.Table) -> str:
        return self.write_bytes(key, write_parquet_bytes(table))

    def read_bytes(self, key: str) -> bytes:
        fs, _ = self._filesystem()
        with fs.open_input_stream(self._full(key)) as f:
            return f.read()

    def read_parquet(self, key: str) -> pa.Table:
        fs, _ = self._filesystem()
        return pq.read_table(self._full(key), filesystem=fs)

    def exists(self, key: str) -> bool:
        fs, _ = self._filesystem()
        return fs.get_file_info(self._full(key)).type != pafs.FileType.NotFound

    def modified(self, key: str) -> datetime | None:
        """When the file was last written (UTC), or None if the store does not say."""
        fs, _ = self._filesystem()
        info = fs.get_file_info(self._full(key))
        return None if info.mtime is None else info.mtime.astimezone(UTC)

    def delete(self, key: str) -> None:
        fs, _ = self._filesystem()
        if self.exists(key):
            fs.delete_file(self._full(key))

    def list(self, prefix: str) -> Iterator[str]:
        """Keys of the files below `prefix`, sorted (temp files of unfinished writes are skipped)."""
        fs, root = self._filesystem()
        selector = pafs.FileSelector(self._full(prefix), recursive=True, allow_not_found=True)
        keys = [
            posixpath.relpath(info.path, root)
            for info in fs.get_file_info(selector)
            if info.type == pafs.FileType.File and ".tmp-" not in posixpath.basename(info.path)
        ]
        return iter(sorted(keys))
