"""Where a lake is stored: a local folder or an object store (`s3://bucket/prefix`).

For an object store, lakestack hands `deltalake` the environment's `storage_options` (written
in `lakestack.yaml`, usually as `${VAR}`s, or left to the standard `AWS_*` variables of the
process) with the settings that make concurrent writers safe:

- Commits use conditional puts (`If-None-Match`: create the next log entry only if no other
  writer created it first). `aws_conditional_put: etag` is set unless the options say
  otherwise; AWS S3, MinIO, Cloudflare R2 and most S3-compatible stores support it, so no
  external lock (DynamoDB) is needed, and a writer that loses the race retries on the new
  version.
- `AWS_S3_ALLOW_UNSAFE_RENAME` is refused: it lets two writers overwrite each other's commit.
- An `http://` endpoint (a store on the local network) gets `AWS_ALLOW_HTTP`.

Listing the tables of an object-store lake uses pyarrow's S3 file system with the same options.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from lakestack.errors import LakeError

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

__all__ = ["is_object_store", "list_tables", "mlflow_s3_environment", "storage_options"]

_S3_SCHEMES = ("s3://", "s3a://")
_ENDPOINT_KEYS = ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
_TRUE = ("1", "true", "yes", "on")


def is_object_store(root: str) -> bool:
    """Whether a lake root is an object-store URI rather than a local folder."""
    return "://" in root and not root.startswith("file://")


def _get(options: Mapping[str, str], *keys: str) -> str | None:
    lowered = {key.lower(): value for key, value in options.items()}
    for key in keys:
        if lowered.get(key):
            return lowered[key]
    return None


def storage_options(root: str, options: Mapping[str, str] | None) -> dict[str, str] | None:
    """The `deltalake` storage options of a lake root, with lakestack's safe-writer settings.

    Args:
        root: the lake root (a folder or an object-store URI).
        options: the environment's `storage_options` from `lakestack.yaml`.

    Returns:
        The options to pass to `deltalake`, or None for a local folder without options.

    Raises:
        LakeError: the options would make concurrent writers unsafe.
    """
    given = dict(options or {})
    if not root.startswith(_S3_SCHEMES):
        return given or None
    unsafe = _get(given, "aws_s3_allow_unsafe_rename")
    if unsafe is not None and unsafe.lower() in _TRUE:
        raise LakeError(
            f"the lake {root} sets AWS_S3_ALLOW_UNSAFE_RENAME: two writers could then overwrite "
            "each other's commit and lose data. Remove it from storage_options in "
            "lakestack.yaml; lakestack commits with conditional puts (aws_conditional_put: etag)."
        )
    lowered = {key.lower() for key in given}
    if "aws_conditional_put" not in lowered and "conditional_put" not in lowered:
        given["aws_conditional_put"] = "etag"
    endpoint = _get(given, *_ENDPOINT_KEYS) or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and endpoint.startswith("http://") and "aws_allow_http" not in lowered:
        given["aws_allow_http"] = "true"
    return given


def _s3_filesystem(options: Mapping[str, str]) -> FileSystem:
    from pyarrow.fs import S3FileSystem

    endpoint = _get(options, *_ENDPOINT_KEYS) or os.environ.get("AWS_ENDPOINT_URL")
    scheme = "https"
    if endpoint and "://" in endpoint:
        scheme, endpoint = endpoint.split("://", 1)
    return S3FileSystem(
        access_key=_get(options, "aws_access_key_id", "access_key_id"),
        secret_key=_get(options, "aws_secret_access_key", "secret_access_key"),
        session_token=_get(options, "aws_session_token", "session_token"),
        region=_get(options, "aws_region", "region", "aws_default_region"),
        endpoint_override=endpoint,
        scheme=scheme,
    )


def _local_tables(root: str, schema: str | None) -> list[str]:
    from deltalake import DeltaTable

    folder = Path(root.removeprefix("file://"))
    if not folder.is_dir():
        return []
    found = []
    for schema_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if schema is not None and schema_dir.name != schema:
            continue
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
            if (table_dir / "_delta_log").is_dir() and DeltaTable.is_deltatable(str(table_dir)):
                found.append(f"{schema_dir.name}.{table_dir.name}")
    return found


def list_tables(root: str, options: Mapping[str, str] | None, schema: str | None) -> list[str]:
    """The `<schema>.<table>` names under a lake root (a local folder or an object store)
    that hold a Delta log, sorted.

    Raises:
        LakeError: the store cannot be listed (credentials, endpoint, bucket).
    """
    from pyarrow.fs import FileSelector, FileType

    if not is_object_store(root):
        return _local_tables(root, schema)
    if not root.startswith(_S3_SCHEMES):
        raise LakeError(
            f"listing the tables of {root} is not supported: lakestack lists local folders and "
            "s3:// lakes; name the table instead (`lakestack tables show SCHEMA.TABLE`)"
        )
    base = root.split("://", 1)[1].rstrip("/")
    try:
        fs = _s3_filesystem(options or {})
        bucket = base.split("/", 1)[0]
        if fs.get_file_info(bucket).type == FileType.NotFound:
            raise OSError(f"the bucket {bucket!r} does not exist")
        schemas = [
            info.base_name
            for info in fs.get_file_info(FileSelector(base, allow_not_found=True))
            if info.type == FileType.Directory and (schema is None or info.base_name == schema)
        ]
        found = []
        for name in sorted(schemas):
            for info in fs.get_file_info(FileSelector(f"{base}/{name}", allow_not_found=True)):
                if info.type != FileType.Directory:
                    continue
                log = fs.get_file_info(f"{info.path}/_delta_log")
                if log.type == FileType.Directory:
                    found.append(f"{name}.{info.base_name}")
    except OSError as exc:
        raise LakeError(
            f"cannot list the lake {root}: {exc}. Check the endpoint and credentials in "
            "storage_options (or the AWS_* variables) of the environment in lakestack.yaml."
        ) from exc
    return sorted(found)


def mlflow_s3_environment(options: Mapping[str, str] | None) -> dict[str, str]:
    """The variables MLflow's S3 artifact store reads, taken from a lake's storage options.

    MLflow reads its S3 settings from the process environment only (`MLFLOW_S3_ENDPOINT_URL`,
    `AWS_ACCESS_KEY_ID`, ...); this maps the lake's options onto those names so that
    artifacts go to the same store with the same credentials.
    """
    options = options or {}
    mapping = {
        "MLFLOW_S3_ENDPOINT_URL": _get(options, *_ENDPOINT_KEYS),
        "AWS_ACCESS_KEY_ID": _get(options, "aws_access_key_id", "access_key_id"),
        "AWS_SECRET_ACCESS_KEY": _get(options, "aws_secret_access_key", "secret_access_key"),
        "AWS_SESSION_TOKEN": _get(options, "aws_session_token", "session_token"),
        "AWS_DEFAULT_REGION": _get(options, "aws_region", "region", "aws_default_region"),
    }
    return {key: value for key, value in mapping.items() if value}
