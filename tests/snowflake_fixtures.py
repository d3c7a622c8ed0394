"""Snowflake test fixtures: fakesnow's HTTP server (behind tests/fakesnow_server.py) seeded with a shop,
and the connection `sf` to it. Real Snowflake cannot be reached from the test machines."""

from __future__ import annotations

import pytest

import keboola_nb as kb

SF_PASSWORD = "canary-Snow-3f8e1a"
ROWS = 1000
WAREHOUSE = "FAKESNOW_WAREHOUSE"  # the one warehouse the emulator knows

SEED = [
    "CREATE DATABASE SHOP",
    "CREATE SCHEMA SHOP.SALES",
    "CREATE TABLE SHOP.SALES.ORDERS (ID NUMBER(38,0) PRIMARY KEY, AMOUNT NUMBER(12,2), NOTE VARCHAR, PAID BOOLEAN, "
    "DAY DATE, UPDATED_AT TIMESTAMP_NTZ, ATTRS VARIANT)",
    f"INSERT INTO SHOP.SALES.ORDERS SELECT seq4() + 1, (seq4() + 1) * 1.25, 'note ' || (seq4() + 1), "
    f"MOD(seq4(), 2) = 0, DATEADD(day, seq4(), '2024-01-01'::DATE), "
    f"DATEADD(hour, seq4(), '2024-01-01 00:00:00'::TIMESTAMP_NTZ), PARSE_JSON('{{\"k\": [1, 2]}}') "
    f"FROM TABLE(GENERATOR(ROWCOUNT => {ROWS}))",
    "UPDATE SHOP.SALES.ORDERS SET NOTE = 'čaj 😀 \"q\"', AMOUNT = 1234567890.99 WHERE ID = 1",
    "UPDATE SHOP.SALES.ORDERS SET AMOUNT = NULL, NOTE = NULL, PAID = NULL, DAY = NULL, ATTRS = NULL WHERE ID = 2",
    'CREATE TABLE SHOP.SALES."Order Items" ("Line No" NUMBER(38,0), "OrderId" NUMBER(38,0), "název" VARCHAR, '
    'PRIMARY KEY ("OrderId", "Line No"))',
    "INSERT INTO SHOP.SALES.\"Order Items\" VALUES (1, 1, 'čaj'), (2, 1, 'káva'), (1, 2, 'voda')",
    "CREATE TABLE SHOP.SALES.CUSTOMERS (ID NUMBER(38,0) PRIMARY KEY, NAME VARCHAR)",
    "INSERT INTO SHOP.SALES.CUSTOMERS VALUES (1, 'Ann'), (2, 'Bob')",
    "CREATE DATABASE DWH",
]


@pytest.fixture(scope="session")
def snow():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from fakesnow_server import FakeSnowServer

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    server = FakeSnowServer({"etl": SF_PASSWORD}, {"keyuser": public})
    server.private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode()
    server.execute(*SEED)
    yield server
    server.stop()


@pytest.fixture
def sf(project, snow, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
    return project.connections.add("sf", snow.url("etl", "SHOP", "SALES", warehouse=WAREHOUSE),
                                   password=kb.secret("SF_PASSWORD"))
