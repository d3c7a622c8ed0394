"""Amazon S3: boto3 lists keys and diagnoses; DuckDB's httpfs (from its PyPI wheel) reads the files.

The connection node is Keboola's root `parameters` of `keboola.ex-aws-s3` plus where to look:
`{bucket, prefix, loginType, accessKeyId, #secretAccessKey}`. `AWS_ENDPOINT_URL_S3` points both
boto3 and DuckDB at an S3-compatible endpoint (e.g. an emulator).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..errors import KeboolaError, KeboolaNotice
from ..model.aws_login import role_node
from ..store.secrets import is_reference, resolve
from .base import ConnectionKind, Diagnosis, duck_literal

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

DEFAULT_REGION = "us-east-1"
SECRET_NAME = "keboola_nb_s3"


@dataclass
class S3File:
    key: str
    size: int
    modified: datetime


def file_format(key: str) -> str:
    """csv, json (JSON lines) or parquet, from the key's suffix (a .gz after it is read transparently)."""
    name = re.sub(r"\.(gz|gzip)$", "", key.lower())
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    return "csv"


def read_sql(urls: list[str], fmt: str, delimiter: str = ",", enclosure: str = '"', header: bool = True,
             names: list[str] | None = None) -> str:
    """The DuckDB table function that reads `urls` (all of one format) as one relation; a CSV
    without a header gets `names` as its column names."""
    files = "[" + ", ".join(duck_literal(u) for u in urls) + "]"
    if fmt == "parquet":
        return f"SELECT * FROM read_parquet({files}, union_by_name = true)"
    if fmt == "json":
        return f"SELECT * FROM read_json({files}, format = 'newline_delimited', union_by_name = true)"
    named = f", names = [{', '.join(duck_literal(n) for n in names)}]" if names else ""
    return (f"SELECT * FROM read_csv({files}, header = {str(header).lower()}, delim = {duck_literal(delimiter)}, "
            f"quote = {duck_literal(enclosure)}{named}, union_by_name = true)")


def key_matches(key: str, pattern: str, include_subfolders: bool = False) -> bool:
    """Keboola's Finder rule: `prefix*suffix` matches keys with that prefix and suffix, and its `*` does not
    cross a '/' unless `include_subfolders`; a pattern without `*` is one exact key."""
    if "*" not in pattern:
        return key == pattern
    prefix, _, suffix = pattern.partition("*")
    if not (key.startswith(prefix) and key.endswith(suffix) and len(key) >= len(prefix) + len(suffix)):
        return False
    return include_subfolders or "/" not in key[len(prefix):len(key) - len(suffix)]


class S3Connector:
    kind = "s3"

    def __init__(self, name: str, node: dict[str, Any]) -> None:
        self.name = name
        self.node = node
        self.bucket: str = node["bucket"]
        self.prefix: str = node.get("prefix", "")
        self._client: Any = None

    # credentials -------------------------------------------------------------------------------
    def _credentials(self) -> tuple[str, str, str | None]:
        """(access key id, secret access key, session token): the connection's own keys, or, when it has
        none, the standard AWS chain (environment, ~/.aws files, SSO, an instance or container role)."""
        where = f"connection {self.name!r}"
        key = self.node.get("accessKeyId") or ""
        if key:  # the chat may hold the id as a reference (an AKIA... id looks like a secret)
            return (resolve(key, where) if is_reference(key) else key,
                    resolve(self.node.get("#secretAccessKey") or "", where), None)
        import boto3

        found = boto3.Session().get_credentials()
        if found is None:
            raise KeboolaError(f"{where} has no access key and no AWS credentials were found",
                               fix="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the kernel's "
                                   "environment, or reconnect with --access-key-env and --secret-env")
        if self.node.get("loginType") == "role":  # the chain's identity assumes the role; its keys are temporary
            return self._assume_role(boto3.Session())
        frozen = found.get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token

    def _assume_role(self, session: Any) -> tuple[str, str, str | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        arn = f"arn:aws:iam::{self.node['accountId']}:role/{self.node['roleName']}"
        try:  # boto3 honours AWS_ENDPOINT_URL_STS
            answer = session.client("sts", region_name=self.node.get("region") or DEFAULT_REGION).assume_role(
                RoleArn=arn, RoleSessionName="keboola-nb", DurationSeconds=3600)
        except (BotoCoreError, ClientError) as e:
            raise KeboolaError(f"connection {self.name!r} could not assume the role {arn}: {e}",
                               fix="the role's trust policy must let the kernel's AWS identity assume it") from None
        keys = answer["Credentials"]
        return keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"]

    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            key, secret, token = self._credentials()
            self._client = boto3.client(
                "s3", aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                region_name=self.node.get("region") or DEFAULT_REGION,
                config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 1}),
            )  # boto3 itself honours AWS_ENDPOINT_URL_S3
        return self._client

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Load httpfs into `con` and give it this connection's credentials (a temporary secret)."""
        from ..storage.extensions import load_extension

        load_extension(con, "httpfs")
        key, secret, token = self._credentials()
        options = {"TYPE": "s3", "KEY_ID": key, "SECRET": secret, "REGION": self.node.get("region") or DEFAULT_REGION}
        if token:
            options["SESSION_TOKEN"] = token
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
        if endpoint:
            parts = urlsplit(endpoint)
            options.update(ENDPOINT=parts.netloc, URL_STYLE="path", USE_SSL=str(parts.scheme == "https").lower())
        body = ", ".join(f"{k} {v if k in ('TYPE', 'USE_SSL') else duck_literal(v)}" for k, v in options.items())
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET {SECRET_NAME} ({body})")

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # browsing ------------------------------------------------------------------------------------
    def list_files(self, prefix: str) -> list[S3File]:
        out = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item.get("StorageClass") in ("GLACIER", "DEEP_ARCHIVE") or item["Key"].endswith("/"):
                    continue  # Keboola skips archived objects and folder markers
                out.append(S3File(item["Key"], int(item["Size"]), item["LastModified"]))
        return out

    def test(self) -> Diagnosis:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
        )

        details = {"bucket": self.bucket, "prefix": self.prefix or "(whole bucket)"}
        try:
            self.client().list_objects_v2(Bucket=self.bucket, Prefix=self.prefix.partition("*")[0], MaxKeys=1)
        except KeboolaError as e:
            return Diagnosis(False, "secret", e.what, e.fix, details)
        except EndpointConnectionError as e:
            return Diagnosis(False, "network", f"cannot reach the S3 endpoint: {e}",
                             "check the network, or AWS_ENDPOINT_URL_S3 if you use an S3-compatible service", details)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                return Diagnosis(False, "missing_database", f"the bucket {self.bucket!r} does not exist",
                                 "check the bucket name in the s3:// URL", details)
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"):
                return Diagnosis(False, "auth", f"S3 refused the credentials ({code})",
                                 "check the access key id and the secret access key; the key needs "
                                 "s3:ListBucket and s3:GetObject on the bucket", details)
            return Diagnosis(False, "error", f"S3 answered {code}: {e}", "", details)
        except BotoCoreError as e:
            return Diagnosis(False, "network", f"S3 request failed: {e}", "check the endpoint and the network", details)
        return Diagnosis(True, "ok", f"bucket {self.bucket!r} is readable", "", details)

    def tables(self, schema: str | None = None) -> pd.DataFrame:
        """Keys under `schema` (a prefix, or a `prefix*suffix` pattern; default the connection's) with sizes
        and formats. A pattern lists its matches in subfolders too: this is browsing."""
        import pandas as pd

        pattern = self.prefix if schema is None else schema
        files = [f for f in self.list_files(pattern.partition("*")[0])
                 if "*" not in pattern or key_matches(f.key, pattern, include_subfolders=True)]
        return pd.DataFrame(
            [{"key": f.key, "size": f.size, "last_modified": f.modified, "format": file_format(f.key)} for f in files],
            columns=["key", "size", "last_modified", "format"],
        )

    def _read(self, key: str, sql_tail: str, header: bool = True) -> pd.DataFrame:
        import duckdb

        from ..storage.storage import frame

        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        try:
            self.attach(con)
            source = read_sql([self.url(key)], file_format(key), header=header)
            return frame(con.execute(sql_tail.format(source=source)))
        finally:
            con.close()

    def preview(self, table: str, limit: int = 100) -> pd.DataFrame:
        """The first rows of one file (CSV, JSON lines or Parquet; gzip too)."""
        return self._read(table, f"SELECT * FROM ({{source}}) LIMIT {max(0, int(limit))}")

    def describe(self, table: str, header: bool = True) -> pd.DataFrame:
        """Columns and types DuckDB infers from one file, or from the first file a `prefix*suffix` key matches
        (a CSV without a header row: column0, column1, ...)."""
        if "*" in table:
            table = self.first_match(table)
        return self._read(table, "SELECT column_name AS column, column_type AS type FROM (DESCRIBE {source})", header)

    def first_match(self, key: str) -> str:
        for f in self.list_files(key.partition("*")[0]):
            if key_matches(f.key, key):
                return f.key
        raise KeboolaError(f"no file in s3://{self.bucket} matches {key!r}",
                           fix=f"list the keys with %keboola tables {self.name}")

    def close(self) -> None:
        self._client = None



def parse_s3_url(url: str) -> dict[str, Any]:
    """`s3://bucket/prefix/` -> the s3 node (credentials are added by the caller)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise KeboolaError(f"{url!r} is not an S3 URL", fix="write it as s3://bucket/optional/prefix/")
    return {"bucket": parts.netloc, "prefix": unquote(parts.path.lstrip("/")), "loginType": "credentials"}


class S3Kind(ConnectionKind):
    name = "s3"
    schemes = ("s3",)
    node_key = "s3"
    secret_key = "#secretAccessKey"

    def parse_url(self, url: str) -> tuple[dict[str, Any], str | None]:
        return parse_s3_url(url), None

    def check_options(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> None:
        """Keys (`access_key` and `password`, the secret access key), a role (`role_arn`) the kernel's AWS
        identity assumes, or neither: the standard AWS credential chain."""
        keys = [options.get("access_key"), options.get("password")]
        if options.get("role_arn") and any(keys):
            raise KeboolaError(f"the S3 connection {name!r} takes a role or keys, not both",
                               fix="leave out --access-key-env and --secret-env with --role-arn")
        if not options.get("role_arn") and any(keys) and not all(keys):
            raise KeboolaError(f"the S3 connection {name!r} needs both the access key id and the secret "
                               "access key, or neither (then the standard AWS credential chain is used)",
                               fix="pass --access-key-env VAR and --secret-env VAR, or leave both out")

    def prepare(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        if options.get("role_arn"):
            return node | role_node(options["role_arn"])
        if options.get("access_key"):
            return node | {"accessKeyId": options["access_key"]}
        warnings.warn(f"connection {name!r} has no keys of its own: it uses the standard AWS credential "
                      "chain (AWS_* variables, ~/.aws files, an instance role) of the kernel", KeboolaNotice,
                      stacklevel=3)
        return node

    def target(self, node: dict[str, Any]) -> str:
        return f"s3://{node.get('bucket')}/{node.get('prefix', '')}"

    def describe(self, node: dict[str, Any], options: dict[str, Any]) -> str:
        key = options.get("access_key")
        login = f"access key {key}" if key else "the kernel's AWS credential chain"
        return f"{self.target(node)} ({login})"

    def connector(self, name: str, node: dict[str, Any]) -> S3Connector:
        return S3Connector(name, node)


KIND = S3Kind()
