"""Secrets never travel: canary passwords must not appear in files, outputs, logs or errors."""

from __future__ import annotations

import os
import stat
import warnings

import pytest

import keboola_nb as kb
from conftest import ETL_PASSWORD, scan_for_canaries
from keboola_nb.store.secrets import SecretRef, redact, resolve, secrets_dir


def test_password_in_url_is_moved_to_a_0600_file(project, pg):
    url = f"postgresql://etl:{ETL_PASSWORD}@127.0.0.1:{pg.port}/shop"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conn = project.connections.add("urlpw", url)
    assert any("moved to a local secret file" in str(w.message) for w in caught)
    assert ETL_PASSWORD not in repr(conn) and ETL_PASSWORD not in conn.target()
    ref = SecretRef.parse(conn.db["#password"])
    assert ref.where() == f"local secret file {ref.name}" and ref.name.startswith("urlpw_password_")
    path = secrets_dir() / ref.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not str(path).startswith(str(project.root))  # outside the project
    assert conn.test().ok
    assert scan_for_canaries(project.root) == []


def test_full_run_leaves_no_secret_anywhere(project, shop, pg, monkeypatch):
    project.extractors.create("canary", "shop", ["orders", "customers"])
    assert project.run("canary").status == "success"
    # A wrong password that is itself a canary must not leak through errors either.
    monkeypatch.setenv("SHOP_PG_PASSWORD", ETL_PASSWORD + "-wrong")
    project.connections.get("shop").connector().close()
    diagnosis = shop.test()
    assert diagnosis.problem == "auth" and ETL_PASSWORD not in repr(diagnosis)
    job = project.run("canary")
    assert job.status == "error" and ETL_PASSWORD not in job.error
    assert ETL_PASSWORD not in "\n".join(job.log)
    assert scan_for_canaries(project.root) == []  # configs, storage, jobs.sqlite, audit, versions


def test_redact_masks_every_resolved_value(monkeypatch):
    monkeypatch.setenv("SOME_TOKEN", "tok-abc-123456")
    assert resolve(SecretRef("SOME_TOKEN")) == "tok-abc-123456"
    assert redact("login failed for tok-abc-123456!") == "login failed for ***!"


def test_references_are_keboola_vault_placeholders():
    with pytest.raises(kb.KeboolaError, match="not a secret reference"):
        SecretRef.parse("plain-value")
    with pytest.raises(kb.KeboolaError, match="not a secret reference"):
        SecretRef.parse("KBNB::env::PG_PASSWORD")  # kbc push would encrypt this text as the password
    with pytest.raises(kb.KeboolaError):
        SecretRef("bad name with spaces")
    # The form kbc push passes through unencrypted (keboola-as-code test/cli/push/vault-validation).
    assert str(kb.secret("PG_PASSWORD")) == "{{ vault.PG_PASSWORD }}"
    assert SecretRef.parse("{{vault.test_pass}}") == SecretRef.parse("{{ vault.test_pass }}") == SecretRef("test_pass")


def test_a_vault_variable_is_found_in_the_environment_then_the_file_then_nowhere(monkeypatch):
    from keboola_nb.store.secrets import store_secret

    ref = store_secret("wh-password", "from-the-file-1234")
    assert ref.where() == f"local secret file {ref.name}" and resolve(ref) == "from-the-file-1234"
    monkeypatch.setenv(ref.name, "from-the-env-5678")
    assert ref.where() == f"environment variable {ref.name}" and resolve(str(ref)) == "from-the-env-5678"
    missing = SecretRef("NOT_SET_ANYWHERE")
    assert missing.where() is None
    with pytest.raises(kb.KeboolaError, match="vault variable NOT_SET_ANYWHERE\\) is not set here"):
        resolve(missing, "connection 'x'")


def test_secrets_dir_is_private(project, pg):
    project.connections.add("p", pg.url("shop", "etl"), password="typed-secret-value")
    assert stat.S_IMODE(os.stat(secrets_dir()).st_mode) == 0o700
