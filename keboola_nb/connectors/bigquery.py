"""Google BigQuery: google-cloud-bigquery for browsing, previews, dry runs and queries; results stream
as Arrow pages into storage, over the BigQuery Storage Read API when it is available, else REST paging.

The connection node is `{project, dataset, location, storage, service_account}`: `service_account` is Keboola's
object (§2.3) whose `#private_key` is a secret reference; every other key field is plain text. `storage` is the
Cloud Storage bucket (`gs://BUCKET`) Keboola's extractor unloads query results through (its `google.storage`);
a local run reads over the Storage Read API and does not use it.
An emulator is chosen by the environment, never by the configuration, so the Keboola JSON stays exact:
`BIGQUERY_EMULATOR_HOST` (the REST base URL, e.g. http://127.0.0.1:9050, which the client library honours
itself) and `BIGQUERY_STORAGE_EMULATOR_HOST` (host:port of its Storage Read gRPC server). With an emulator
the key is still checked but anonymous credentials are used.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import KeboolaError
from ..store.secrets import SecretRef, describe_reference, redact, remember, resolve, store_secret
from .base import ARROW_VIEW, ConnectionKind, Diagnosis, ExtractSpec, Scan, check_columns, table_not_found

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa
    from google.cloud import bigquery

EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"
STORAGE_EMULATOR_ENV = "BIGQUERY_STORAGE_EMULATOR_HOST"
DEFAULT_LOCATION = "US"
REQUEST_TIMEOUT_S = 30
PAGE_ROWS = 10_000  # REST pages: BigQuery caps a page at 10 MB anyway; this bounds memory per page
# A Cloud Storage bucket name (3-222 characters), optionally with a folder.
_BUCKET = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/\S*)?$")
KEY_FIELDS = ("type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri",
              "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url")


# the service-account key ----------------------------------------------------------------------------
def service_account_node(name: str, *, key_file: str | None = None, key_env: str | None = None) -> dict[str, Any]:
    """Keboola's `service_account` object from a key JSON file or an environment variable holding the JSON
    (or a path to it). `private_key` becomes `#private_key`, a reference: to the variable when it holds the
    JSON, else to a 0600 file outside the project. The other fields stay plain text, as in Keboola."""
    if key_env:
        value = os.environ.get(key_env)
        if not value:
            raise KeboolaError(f"{key_env} is not set in this kernel",
                               fix="set it to the service-account key JSON (or the path of the key file)")
        if not value.lstrip().startswith("{"):
            key_file, key_env = value, None
        text = value
    if key_file:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise KeboolaError(f"the key file {str(path)!r} does not exist",
                               fix="download the service account's JSON key and give its path")
        text = path.read_text(encoding="utf-8")
    if not key_file and not key_env:
        raise KeboolaError("no service-account key given", fix="pass --key-file PATH or --key-file-env VAR")
    try:
        key = json.loads(text)
    except ValueError:
        raise KeboolaError("the service-account key is not valid JSON",
                           fix="use the JSON key file downloaded from Google Cloud IAM") from None
    if not isinstance(key, dict) or key.get("type") != "service_account" or not key.get("private_key"):
        raise KeboolaError("the key is not a service-account key (type service_account with a private_key)",
                           fix="create a key for a service account in Google Cloud IAM (JSON format)")
    remember(key["private_key"])
    ref = SecretRef(key_env) if key_env else store_secret(f"{name}-private-key", key["private_key"])
    node = {k: key[k] for k in KEY_FIELDS if k in key and k != "private_key"}
    node["#private_key"] = str(ref)
    return {k: node[k] for k in [*KEY_FIELDS[:3], "#private_key", *KEY_FIELDS[4:]] if k in node}


def unload_bucket(value: str) -> str:
    """The bucket Keboola's extractor unloads through, as `gs://BUCKET` (a bare bucket name gets the scheme)."""
    text = str(value).strip()
    bucket = text if text.startswith("gs://") else f"gs://{text}"
    if not _BUCKET.match(bucket):
        raise KeboolaError(f"{text!r} is not a Cloud Storage bucket",
                           fix="write it as gs://BUCKET (lowercase letters, digits, '-', '_' and '.'), a bucket the "
                               "service account can write to; Keboola's extractor unloads query results through it")
    return bucket


def private_key(reference: str, where: str) -> str:
    """The key behind `#private_key`: the reference may hold the PEM or the whole key JSON."""
    value = resolve(reference, where)
    if value.lstrip().startswith("{"):
        try:
            value = json.loads(value)["private_key"]
        except (ValueError, KeyError, TypeError):
            raise KeboolaError(f"the key JSON behind {describe_reference(reference)} has no private_key",
                               fix="point it at the service account's JSON key") from None
        remember(value)
    return value


def emulator() -> str | None:
    return os.environ.get(EMULATOR_ENV) or None


# arrow pages ------------------------------------------------------------------------------------------
@dataclass
class Stream:
    """How one scan read its rows: over which API, in how many pages."""

    path: str = ""  # "Storage Read API" or "REST"
    pages: int = 0
    rows: int = 0


def _storage_type(field: "bigquery.SchemaField") -> str | None:
    """The storage (DuckDB) type a column is cast to on arrival, when Arrow's own is not exact enough."""
    if field.mode == "REPEATED" or field.field_type in ("RECORD", "STRUCT"):
        return None
    return {"NUMERIC": "DECIMAL(38, 9)", "TIMESTAMP": "TIMESTAMPTZ", "DATETIME": "TIMESTAMP",
            "BIGNUMERIC": "VARCHAR", "BIGDECIMAL": "VARCHAR", "JSON": "VARCHAR",
            "GEOGRAPHY": "VARCHAR"}.get(field.field_type)


def _exact(batch: "pa.RecordBatch") -> "pa.RecordBatch":
    """BIGNUMERIC arrives as decimal256, which DuckDB cannot hold: keep it exact as text."""
    import pyarrow as pa

    if not any(pa.types.is_decimal256(f.type) for f in batch.schema):
        return batch
    columns = [c.cast(pa.string()) if pa.types.is_decimal256(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


class BigQueryConnector:
    kind = "bigquery"

    def __init__(self, name: str, node: dict[str, Any]) -> None:
        self.name = name
        self.node = node
        self.project: str = node.get("project") or (node.get("service_account") or {}).get("project_id") or ""
        self.dataset: str = node.get("dataset") or ""
        self.location: str = node.get("location") or DEFAULT_LOCATION
        self._client: Any = None
        self._read_client: Any = None
        self._lock = threading.RLock()
        self.last_stream = Stream()

    # clients ------------------------------------------------------------------------------------------
    def credentials(self) -> Any:
        """Service-account credentials from the key; anonymous ones with an emulator (after checking the key)."""
        from google.auth.credentials import AnonymousCredentials
        from google.oauth2 import service_account

        account = dict(self.node.get("service_account") or {})
        reference = account.pop("#private_key", None)
        if reference is None:
            if emulator():
                return AnonymousCredentials()
            raise KeboolaError(f"connection {self.name!r} has no service-account key",
                               fix="add one: %keboola connect NAME bigquery://PROJECT/DATASET --key-file PATH --replace")
        info = {**account, "private_key": private_key(reference, f"connection {self.name!r}")}
        try:
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except (ValueError, KeyError) as e:
            raise _BadKey(f"connection {self.name!r}: the service-account key is not valid ({redact(str(e))})") from None
        return AnonymousCredentials() if emulator() else credentials

    def client(self) -> "bigquery.Client":
        with self._lock:
            if self._client is None:
                from google.cloud import bigquery

                if not self.project:
                    raise KeboolaError(f"connection {self.name!r} names no project",
                                       fix="write the URL as bigquery://PROJECT/DATASET")
                options = {"api_endpoint": emulator()} if emulator() else None
                self._client = bigquery.Client(project=self.project, credentials=self.credentials(),
                                               location=self.location, client_options=options)
            return self._client

    def read_client(self) -> Any:
        """A Storage Read API client, or None (REST paging) when the library or the endpoint is missing."""
        with self._lock:
            if self._read_client is None:
                try:
                    from google.cloud import bigquery_storage
                except ImportError:
                    return None
                if emulator():
                    host = os.environ.get(STORAGE_EMULATOR_ENV)
                    if not host:
                        return None
                    import grpc
                    from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
                        BigQueryReadGrpcTransport,
                    )

                    transport = BigQueryReadGrpcTransport(channel=grpc.insecure_channel(host))
                    self._read_client = bigquery_storage.BigQueryReadClient(transport=transport)
                else:
                    self._read_client = bigquery_storage.BigQueryReadClient(credentials=self.credentials())
            return self._read_client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = self._read_client = None

    def target(self) -> str:
        return f"bigquery://{self.project}/{self.dataset}"

    # test ---------------------------------------------------------------------------------------------
    def test(self) -> Diagnosis:
        started = time.perf_counter()
        details: dict[str, Any] = {"project": self.project, "dataset": self.dataset or "(all)",
                                   "location": self.location}
        if self.node.get("storage"):
            details["unload bucket (Keboola only)"] = self.node["storage"]
        if emulator():
            details["endpoint"] = f"{emulator()} (emulator, anonymous credentials)"
        try:
            client = self.client()
            if self.dataset:
                client.get_dataset(f"{self.project}.{self.dataset}", retry=None, timeout=REQUEST_TIMEOUT_S)
                readable = sum(1 for _ in client.list_tables(f"{self.project}.{self.dataset}", retry=None,
                                                             timeout=REQUEST_TIMEOUT_S))
            else:
                readable = sum(1 for _ in client.list_datasets(self.project, retry=None, timeout=REQUEST_TIMEOUT_S))
        except _BadKey as e:
            self.close()
            return Diagnosis(False, "auth", e.what, "download a new JSON key for the service account and "
                             "connect again with --key-file ... --replace", details)
        except KeboolaError as e:
            self.close()
            return Diagnosis(False, "secret" if "secret" in e.what else "config", e.what, e.fix or "", details)
        except Exception as e:  # google-api-core, google-auth, requests: sorted by _diagnose
            self.close()
            return self._diagnose(e, details)
        details["tables" if self.dataset else "datasets"] = readable
        details["connect + check"] = f"{(time.perf_counter() - started) * 1000:.0f} ms"
        who = (self.node.get("service_account") or {}).get("client_email") or "anonymous"
        return Diagnosis(True, "ok", f"connected to {self.target()} as {who}", details=details)

    def _diagnose(self, error: Exception, details: dict[str, Any]) -> Diagnosis:
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth

        text = redact(str(error)).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = f"connection {self.name!r}"
        if isinstance(error, api.NotFound):
            what = f"dataset {self.dataset!r}" if self.dataset else f"project {self.project!r}"
            return Diagnosis(False, "missing_database", f"{where}: {what} was not found in project {self.project!r}",
                             "check the project and dataset in the URL bigquery://PROJECT/DATASET, and the location",
                             {**details, "server said": text})
        if isinstance(error, (api.Forbidden, api.Unauthorized)) or isinstance(error, auth.RefreshError):
            return Diagnosis(False, "auth" if not isinstance(error, api.Forbidden) else "access",
                             f"{where}: Google refused the service account ({text})",
                             "check that the key is current and that the service account has the BigQuery "
                             "Data Viewer and Job User roles on the project", {**details, "server said": text})
        if isinstance(error, (auth.TransportError, ConnectionError)) or "connection" in text.lower():
            endpoint = emulator() or "bigquery.googleapis.com"
            return Diagnosis(False, "network", f"{where}: cannot reach {endpoint}",
                             f"check the network (or {EMULATOR_ENV} when you use an emulator)",
                             {**details, "error": text})
        return Diagnosis(False, "error", f"{where}: {text}", "check the connection settings", details)

    # browsing -----------------------------------------------------------------------------------------
    def _ref(self, table: tuple[str, str]) -> str:
        schema, name = table
        return f"{schema}.{name}" if "." in schema else f"{self.project}.{schema}.{name}"

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A browsing request: Google's errors become one readable KeboolaError."""
        try:
            return fn(*args, **kwargs)
        except KeboolaError:
            raise
        except Exception as e:
            diagnosis = self._diagnose(e, {})
            raise KeboolaError(f"{what}: {diagnosis.message}", fix=diagnosis.fix) from None

    def tables(self, schema: str | None = None) -> "pd.DataFrame":
        """Tables of a dataset (default: the connection's; every dataset when it names none), with row
        counts from table metadata (no query is run)."""
        import pandas as pd

        client = self.client()
        datasets = [schema or self.dataset] if (schema or self.dataset) else [
            d.dataset_id for d in self.call("listing datasets", client.list_datasets, self.project)]
        records = []
        for dataset in datasets:
            for item in self.call(f"listing dataset {dataset}", client.list_tables, f"{self.project}.{dataset}"):
                table = self.call(f"reading table {item.table_id}", client.get_table, item.reference)
                records.append({"schema": dataset, "table": item.table_id,
                                "type": "view" if table.table_type == "VIEW" else "table",
                                "rows_estimate": table.num_rows, "primary_key": _primary_key(table),
                                "columns": len(table.schema)})
        frame = pd.DataFrame(records, columns=["schema", "table", "type", "rows_estimate", "primary_key", "columns"])
        frame["rows_estimate"] = frame["rows_estimate"].astype("Int64")
        return frame

    def resolve_table(self, table: str | tuple[str, str]) -> tuple[str, str]:
        """`table`, `dataset.table` or `project.dataset.table` (backticks allowed) -> (dataset, table);
        the dataset is `project.dataset` for another project."""
        if isinstance(table, tuple):
            schema, name = table
        else:
            parts = table.strip().strip("`").replace("`.`", ".").split(".")
            if len(parts) == 1 and self.dataset:
                parts = [self.dataset, *parts]
            if len(parts) == 3 and parts[0] == self.project:
                parts = parts[1:]
            if len(parts) not in (2, 3) or not all(parts):
                raise KeboolaError(f"{table!r} is not a BigQuery table name",
                                   fix="write dataset.table (or project.dataset.table)")
            schema, name = ".".join(parts[:-1]), parts[-1]
        self.get_table((schema, name))
        return schema, name

    def get_table(self, table: tuple[str, str]) -> Any:
        from google.api_core.exceptions import NotFound

        try:
            return self.client().get_table(self._ref(table), timeout=REQUEST_TIMEOUT_S)
        except NotFound:
            schema = table[0]
            try:
                known = [f"{schema}.{t.table_id}" for t in self.client().list_tables(
                    schema if "." in schema else f"{self.project}.{schema}")]
            except NotFound:
                raise KeboolaError(f"dataset {schema!r} was not found in project {self.project!r} "
                                   f"(connection {self.name!r})", fix="list the tables with %keboola tables") from None
            raise table_not_found(f"{schema}.{table[1]}", known, self.name) from None
        except Exception as e:
            raise KeboolaError(f"reading table {self._ref(table)}: {self._diagnose(e, {}).message}") from None

    def format_table(self, table: tuple[str, str]) -> str:
        return f"{table[0]}.{table[1]}"

    def describe(self, table: str | tuple[str, str]) -> "pd.DataFrame":
        import pandas as pd

        found = self.get_table(self.resolve_table(table))
        key = _primary_key(found)
        rows = [(f.name, f.field_type if f.mode != "REPEATED" else f"ARRAY<{f.field_type}>", f.mode != "REQUIRED",
                 f.name in key, getattr(f, "default_value_expression", None), f.description) for f in found.schema]
        return pd.DataFrame(rows, columns=["column", "type", "nullable", "primary_key", "default", "description"])

    def primary_key(self, table: str | tuple[str, str]) -> list[str]:
        """The table's PRIMARY KEY constraint (not enforced by BigQuery), or none."""
        return _primary_key(self.get_table(self.resolve_table(table)))

    def preview(self, table: str | tuple[str, str], limit: int = 100) -> "pd.DataFrame":
        """`list_rows` with max_results: reads table storage directly, so it costs no query."""
        import pandas as pd

        found = self.get_table(self.resolve_table(table))
        rows = self.call("preview", self.client().list_rows, found, max_results=max(0, int(limit)))
        arrow = self.call("preview", rows.to_arrow, create_bqstorage_client=False)
        return arrow.to_pandas(types_mapper=pd.ArrowDtype)

    # cost ---------------------------------------------------------------------------------------------
    def dry_run(self, query: str, legacy_sql: bool = False) -> tuple[int, list[Any]]:
        """(bytes the query would process, result schema): BigQuery plans it without running it."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False, use_legacy_sql=legacy_sql)
        job = self._query_call(query, config)
        return int(job.total_bytes_processed or 0), list(job.schema or [])

    def _query_call(self, query: str, config: Any) -> Any:
        from google.api_core import exceptions as api

        try:
            return self.client().query(query, job_config=config, timeout=REQUEST_TIMEOUT_S)
        except (api.BadRequest, api.NotFound) as e:
            raise KeboolaError(f"BigQuery refused the query: {redact(_reason(e))}",
                               fix="fix the SQL (GoogleSQL unless useLegacySql is set), e.g. in the BigQuery console") from None

    # extraction ---------------------------------------------------------------------------------------
    def scan(self, con: "duckdb.DuckDBPyConnection", spec: ExtractSpec, *, legacy_sql: bool = False,
             maximum_bytes_billed: int | None = None) -> Scan:
        """Stream a table (read directly, no query cost) or a query's result as Arrow pages."""
        from google.cloud import bigquery

        client = self.client()
        if spec.query is not None:
            config = bigquery.QueryJobConfig(use_legacy_sql=legacy_sql, maximum_bytes_billed=maximum_bytes_billed)
            job = self._query_call(spec.query, config)
            try:
                fields = list(job.result(timeout=None, page_size=PAGE_ROWS).schema)
            except Exception as e:
                raise KeboolaError(f"the query failed in BigQuery: {redact(_reason(e))}",
                                   fix="check the SQL and the budget (maximum bytes billed)") from None
            reader = self._reader(lambda: job.result(page_size=PAGE_ROWS), fields)
            estimate = None
        else:
            assert spec.table is not None
            source = self.get_table(spec.table)
            names = [f.name for f in source.schema]
            wanted = spec.columns or names
            check_columns(self.format_table(spec.table), wanted, names)
            fields = [next(f for f in source.schema if f.name == c) for c in wanted]
            selected = fields if spec.columns else None
            reader = self._reader(lambda: client.list_rows(source, selected_fields=selected, page_size=PAGE_ROWS),
                                  fields)
            estimate = source.num_rows
        select = ", ".join(f"CAST({_q(f.name)} AS {t}) AS {_q(f.name)}" if (t := _storage_type(f)) else _q(f.name)
                           for f in fields)
        return Scan(f"SELECT {select} FROM {ARROW_VIEW}", [], estimate, arrow=reader)

    def _reader(self, rows: Callable[[], Any], fields: list[Any]) -> "pa.RecordBatchReader":
        """The rows (a RowIterator made by `rows`) as a RecordBatchReader: Storage Read API streams, else REST
        pages. A Storage Read API that refuses the rows (permissions, or an emulator's limits) falls back to
        REST before any row is read."""
        import pyarrow as pa

        stream = self.last_stream = Stream()
        read_client = self.read_client()

        def pages(use_storage: bool) -> Iterator["pa.RecordBatch"]:
            return iter(rows().to_arrow_iterable(bqstorage_client=read_client if use_storage else None))

        first = None
        if read_client is not None:
            try:
                batches = pages(True)
                first = next(batches, None)
                stream.path = "Storage Read API"
            except Exception:
                first = None
        if not stream.path:
            batches = pages(False)
            first = next(batches, None)
            stream.path = "REST"
        if first is None:  # nothing at all came back: an empty result with the table's columns
            from google.cloud.bigquery import _pandas_helpers

            schema = _pandas_helpers.bq_to_arrow_schema(fields)
            return pa.RecordBatchReader.from_batches(schema, iter([]))
        first = _exact(first)

        def counted() -> Iterator["pa.RecordBatch"]:
            stream.pages, stream.rows = 1, first.num_rows
            yield first
            for batch in batches:
                batch = _exact(batch)
                stream.pages += 1
                stream.rows += batch.num_rows
                yield batch.cast(first.schema) if batch.schema != first.schema else batch

        return pa.RecordBatchReader.from_batches(first.schema, counted())


class _BadKey(KeboolaError):
    """A key that Google's library cannot even parse."""


def _primary_key(table: Any) -> list[str]:
    constraints = getattr(table, "table_constraints", None)
    key = getattr(constraints, "primary_key", None) if constraints else None
    return list(key.columns) if key else []


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reason(error: Exception) -> str:
    errors = getattr(error, "errors", None) or []
    message = errors[0].get("message") if errors and isinstance(errors[0], dict) else None
    return (message or str(error)).strip().splitlines()[0]


def parse_bigquery_url(url: str) -> dict[str, Any]:
    """`bigquery://project/dataset[?location=EU&unload=gs://bucket]` -> the bigquery node (the key is added by the
    caller); `unload` is the bucket Keboola's extractor unloads query results through (`google.storage`)."""
    parts = urlsplit(url.strip())
    dataset = unquote(parts.path.strip("/"))
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    location = query.pop("location", DEFAULT_LOCATION)
    unload = query.pop("unload", None)
    if parts.scheme != "bigquery" or not parts.netloc or "/" in dataset or query:
        raise KeboolaError(f"{url!r} is not a BigQuery URL",
                           fix="write it as bigquery://PROJECT/DATASET (dataset optional; options ?location=EU and "
                               "&unload=gs://BUCKET, the bucket Keboola's extractor unloads through)")
    node = {"project": parts.netloc, "dataset": dataset, "location": location}
    return (node | {"storage": unload_bucket(unload)}) if unload is not None else node


class BigQueryKind(ConnectionKind):
    name = "bigquery"
    schemes = ("bigquery",)
    node_key = "bigquery"

    def parse_url(self, url: str) -> tuple[dict[str, Any], str | None]:
        return parse_bigquery_url(url), None

    def check_options(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> None:
        if "service_account" not in node and not options.get("key_file") and not options.get("key_env"):
            raise KeboolaError(f"the BigQuery connection {name!r} needs a service-account key",
                               fix="pass --key-file PATH or --key-file-env VAR (the assistant: key_file)")

    def prepare(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """The service-account key from `key_file` or the variable `key_env`; its private key by reference.
        A `storage` given as a field (connections.add(..., storage=...)) is checked like the URL's `unload`."""
        if node.get("storage") is not None:
            node = node | {"storage": unload_bucket(node["storage"])}
        if "service_account" in node:
            return node
        return node | {"service_account": service_account_node(name, key_file=options.get("key_file"),
                                                               key_env=options.get("key_env"))}

    def target(self, node: dict[str, Any]) -> str:
        return f"bigquery://{node.get('project')}/{node.get('dataset', '')}"

    def describe(self, node: dict[str, Any], options: dict[str, Any]) -> str:
        key = f"key file {options['key_file']}" if options.get("key_file") else f"key in ${options.get('key_env')}"
        unload = f"; Keboola unloads through {node['storage']}" if node.get("storage") else ""
        return f"{self.target(node)} ({key}{unload})"

    def secret(self, node: dict[str, Any]) -> str:
        return describe_reference((node.get("service_account") or {}).get("#private_key"))

    def connector(self, name: str, node: dict[str, Any]) -> BigQueryConnector:
        return BigQueryConnector(name, node)


KIND = BigQueryKind()
