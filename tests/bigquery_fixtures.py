"""BigQuery test fixtures: a service-account key with a canary line, and bqemulator with seeded tables.

Real BigQuery cannot be reached from the test machines; bqemulator runs from its own virtual environment
(servers.BigQueryEmulator) and the real google-cloud-bigquery client reaches it through
BIGQUERY_EMULATOR_HOST, and the Storage Read API through BIGQUERY_STORAGE_EMULATOR_HOST.
"""

from __future__ import annotations

import io
import json

import pytest

from servers import BigQueryEmulator


def _private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


PRIVATE_KEY = _private_key()
CANARY = PRIVATE_KEY.splitlines()[5]  # one line of the key's body: it must never leave the key file
KEY = {"type": "service_account", "project_id": "test-proj", "private_key_id": "abc123", "private_key": PRIVATE_KEY,
       "client_email": "kbc@test-proj.iam.gserviceaccount.com", "client_id": "1234567890",
       "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token"}
BIG_ROWS = 25_000  # more than two REST pages of 10,000


@pytest.fixture(scope="session")
def emulator():  # type: ignore[no-untyped-def]
    server = BigQueryEmulator.start()
    client = server.client()
    client.create_dataset("sales")
    schema = "id INT64, amount NUMERIC, note STRING, flag BOOL, day DATE, updated_at TIMESTAMP"
    client.query(f"CREATE TABLE sales.orders ({schema})").result()
    rows = [{"id": 1, "amount": "12345.678", "note": "čaj 😀", "flag": True, "day": "2024-02-29",
             "updated_at": "2024-02-29 12:34:56.789+00:00"},
            {"id": 2, "amount": "-0.5", "note": "", "flag": False, "day": "2024-01-01",
             "updated_at": "2024-01-01 00:00:00+00:00"},
            {"id": 3}]
    load(client, "sales.orders", rows)
    client.query("CREATE TABLE sales.big AS SELECT x AS id, CONCAT('note ', CAST(x AS STRING)) AS note "
                 f"FROM UNNEST(GENERATE_ARRAY(1, {BIG_ROWS})) AS x").result()
    yield server
    server.stop()


def load(client, table: str, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    from google.cloud import bigquery

    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", write_disposition="WRITE_APPEND")
    client.load_table_from_file(io.BytesIO(body), f"test-proj.{table}", job_config=config).result()


@pytest.fixture
def bq_env(emulator, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", emulator.rest)
    monkeypatch.setenv("BIGQUERY_STORAGE_EMULATOR_HOST", emulator.grpc)
    monkeypatch.setenv("GBQ_KEY", json.dumps(KEY))
    return emulator
