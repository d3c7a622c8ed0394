"""The chat's secret guard: what looks like a secret is stored and replaced, ordinary prose is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from keboola_nb.ai.secret_guard import guard, guard_arguments, mask
from keboola_nb.store import secrets
from keboola_nb.store.secrets import resolve

KEBOOLA_TOKEN = "1234-567890-" + "Ab3" * 13 + "x"  # the shape of a Storage API token: 40 characters at the end

# (message, the secret in it)
MISSES = [
    ("PGPASSWORD=x", "x"),
    ("DB_PASSWORD=x psql -h db", "x"),
    ("PGPASSWORD=etl psql -h db", "etl"),
    ('{"password": "x"}', "x"),
    ("{'token': 'abc'}", "abc"),
    ("the password for etl is Tr1cky-pw", "Tr1cky-pw"),
    ("password of etl: Tr1cky-pw", "Tr1cky-pw"),
    ("my pass is hunter22", "hunter22"),
    ("the admin password is longenough", "longenough"),
    ("connect postgresql://etl:ab/cd@host/db please", "ab/cd"),
    ("connect postgresql://etl:p@ss@db:5432/shop", "p@ss"),
    (f"use {KEBOOLA_TOKEN} for the project", KEBOOLA_TOKEN),
    (f"here:{KEBOOLA_TOKEN}.", KEBOOLA_TOKEN),
    ("password: hunter2.", "hunter2"),
    ("pwd=hunter22", "hunter22"),
    ("client_secret: s3cr3t", "s3cr3t"),
]

UNTOUCHED = [
    "the password is incorrect",
    "my password is too long",
    "the secret is that we cache everything",
    "secret: none",
    "password is null",
    "pwd: /home/me",
    "what is the password policy?",
    "token count",
    "the key column",
    "the password is wrong",
    "the password is stored in PG_PASS",
    "password: PG_PASS",
    "max_tokens: 4096",
    "the compass: 12B",
    "conn = connect(password=os.environ['PG'])",
    "conn = connect(user=user, password=password)",
    "password: <your password>",
    "see https://host:8080/a?mail=me@example.com",
    "Password:\nUsername: bob",
    "the password is already {{ vault.shop_password_abc123 }}",
]


@pytest.fixture(autouse=True)
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(folder))
    # Values remembered by earlier tests would be masked by redact(): results must come from detection alone.
    monkeypatch.setattr(secrets, "_known_values", set())
    return folder


def stored_files(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("text", "value"), MISSES)
def test_a_secret_is_stored_and_only_its_reference_remains(text: str, value: str, secrets_dir: Path) -> None:
    clean, caught = guard(text)
    assert len(caught) == 1
    ref = str(caught[0].reference)
    assert ref in clean
    assert value not in clean.replace(ref, "")  # "x" may be part of a reference's random name
    assert resolve(ref) == value
    assert len(stored_files(secrets_dir)) == 1


def test_the_url_loses_its_password_and_names_the_reference() -> None:
    clean, caught = guard("connect postgresql://etl:p@ss@db:5432/shop")
    assert clean == f"connect postgresql://etl@db:5432/shop (password stored as {caught[0].reference})"
    assert caught[0].what == "password in a connection URL"
    assert caught[0].reference.name.startswith("db_etl_password_")


def test_the_sentence_keeps_its_punctuation_and_quotes() -> None:
    clean, caught = guard('password: hunter2. And {"token": "abc"}')
    first, second = (str(c.reference) for c in caught)
    assert clean == f'password: {first}. And {{"token": "{second}"}}'


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_text_is_left_alone(text: str, secrets_dir: Path) -> None:
    assert guard(text) == (text, [])
    assert mask(text) == text
    assert stored_files(secrets_dir) == []


@pytest.mark.parametrize(("text", "value"), MISSES)
def test_mask_hides_the_same_secrets_and_stores_nothing(text: str, value: str, secrets_dir: Path) -> None:
    masked = mask(text)
    assert value not in masked.replace("***", "") and "***" in masked
    assert stored_files(secrets_dir) == []


def test_mask_keeps_a_mistyped_command_readable() -> None:
    assert mask("/conect shop postgresql://etl:Tr1cky@db/shop") == "/conect shop postgresql://etl:***@db/shop"
    assert mask(f"PGPASSWORD=x and token {KEBOOLA_TOKEN}") == "PGPASSWORD=*** and token ***"


def test_arguments_are_guarded_by_hash_key_and_by_value(secrets_dir: Path) -> None:
    """A `#` key's value is a secret whatever it looks like; other keys, however named, are judged by their values;
    references, numbers and empty values pass as they are."""
    arguments = {"name": "shop", "url": "postgresql://etl:Tr1cky@db/shop", "password_reference": "PG_PASSWORD",
                 "limit": 5, "note": "", "tables": [{"table": "public.orders", "#token": "<s3cr3t>",
                                                     "#password": "{{ vault.PG_PASSWORD }}"}]}
    clean, caught = guard_arguments(arguments, "mcp")
    url, token = caught
    assert url.what == "password in a connection URL" and token.what == "value of #token"
    assert token.reference.name.startswith("mcp_token_") and resolve(str(token.reference)) == "<s3cr3t>"
    assert clean == arguments | {
        "url": f"postgresql://etl@db/shop (password stored as {url.reference})",
        "tables": [{"table": "public.orders", "#token": str(token.reference), "#password": "{{ vault.PG_PASSWORD }}"}]}
    assert len(stored_files(secrets_dir)) == 2
    assert guard_arguments({"variables": {"token_limit": "100"}}, "mcp") == ({"variables": {"token_limit": "100"}}, [])
