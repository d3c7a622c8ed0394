"""The S3 extractor against moto, an S3 emulator started in-process (real S3 cannot be reached here)."""

from __future__ import annotations

import gzip
import io
import json
import time

import pytest

import boto3
import moto.server as moto_server

import keboola_nb as kb
from keboola_nb.errors import KeboolaError


@pytest.fixture(scope="module")
def moto_endpoint():  # type: ignore[no-untyped-def]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh bucket `exports-<n>` and a boto3 client; the environment points at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    monkeypatch.setenv("AK", "test")
    monkeypatch.setenv("SK", "test")
    client = boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    bucket = f"exports-{time.time_ns()}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    return client


def put(s3, key: str, body: bytes) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=s3.bucket, Key=key, Body=body)


@pytest.fixture
def exports(project, s3):  # type: ignore[no-untyped-def]
    return project.connections.add("exports", f"s3://{s3.bucket}/exports/", access_key="test",
                                   password=kb.secret("SK"))


def test_connection_file_keeps_s3_node_and_secret_reference(project, s3, exports):
    stored = json.loads((project.root / ".keboola" / "connections.json").read_text())["connections"]["exports"]
    assert stored == {"kind": "s3", "s3": {"bucket": s3.bucket, "prefix": "exports/", "loginType": "credentials",
                                           "accessKeyId": "test", "#secretAccessKey": "{{ vault.SK }}"}}
    assert exports.target() == f"s3://{s3.bucket}/exports/"
    assert "SK" in exports.secret()
    assert exports.test().ok


def test_diagnosis_names_missing_bucket_bad_keys_and_unreachable_endpoint(project, s3, monkeypatch):
    missing = project.connections.add("nobucket", "s3://no-such-bucket-here/", access_key="test",
                                      password=kb.secret("SK"))
    diagnosis = missing.test()
    assert not diagnosis.ok and diagnosis.problem == "missing_database"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    unreachable = project.connections.add("down", f"s3://{s3.bucket}/", access_key="test", password=kb.secret("SK"))
    assert unreachable.test().problem == "network"
    unset = project.connections.add("nosecret", f"s3://{s3.bucket}/", access_key="test",
                                    password=kb.secret("UNSET_S3_SECRET"))
    assert unset.test().problem == "secret"


def test_bad_keys_are_an_auth_problem(project, s3, monkeypatch):
    from moto import settings

    conn = project.connections.add("badkeys", f"s3://{s3.bucket}/", access_key="AKIAWRONG", password=kb.secret("SK"))
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # the in-process moto checks keys now
    diagnosis = conn.test()
    assert not diagnosis.ok and diagnosis.problem == "auth", diagnosis


def test_browse_and_preview_csv_json_parquet_gzip(project, s3, exports):
    import pyarrow as pa
    import pyarrow.parquet as pq

    put(s3, "exports/a.csv", b"id,city\n1,Prague\n2,Brno\n")
    put(s3, "exports/b.csv.gz", gzip.compress(b"id,city\n3,Ostrava\n"))
    put(s3, "exports/c.jsonl", b'{"id": 4, "city": "Plzen"}\n{"id": 5, "city": "Zlin"}\n')
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [6], "city": ["Olomouc"]}), buffer)
    put(s3, "exports/d.parquet", buffer.getvalue())
    put(s3, "other/x.csv", b"id\n1\n")
    listing = exports.tables()
    assert list(listing["key"]) == ["exports/a.csv", "exports/b.csv.gz", "exports/c.jsonl", "exports/d.parquet"]
    assert listing.loc[0, "size"] == len(b"id,city\n1,Prague\n2,Brno\n")
    assert list(listing["format"]) == ["csv", "csv", "json", "parquet"]
    assert list(exports.preview("exports/a.csv")["city"]) == ["Prague", "Brno"]
    assert list(exports.preview("exports/b.csv.gz")["city"]) == ["Ostrava"]
    assert list(exports.preview("exports/c.jsonl", limit=1)["city"]) == ["Plzen"]
    assert list(exports.preview("exports/d.parquet")["city"]) == ["Olomouc"]
    described = exports.describe("exports/a.csv")
    assert dict(zip(described["column"], described["type"])) == {"id": "BIGINT", "city": "VARCHAR"}


SHORTHAND = """
connection: exports
files:
  - key: exports/2024/*
    table: city_sales
    primary_key: [id]
    new_files_only: true
"""


def test_a_pasted_url_with_a_wildcard_lists_what_it_matches(project, s3):
    put(s3, "exports/a.csv", b"id\n1\n")
    put(s3, "exports/2024/b.csv", b"id\n2\n")
    put(s3, "exports/c.json", b'{"id": 3}\n')
    csvs = project.connections.add("csvs", f"s3://{s3.bucket}/exports/*.csv", access_key="test",
                                   password=kb.secret("SK"))
    assert list(csvs.tables()["key"]) == ["exports/2024/b.csv", "exports/a.csv"]  # browsing includes subfolders
    assert list(csvs.tables("exports/*.json")["key"]) == ["exports/c.json"]
    assert csvs.test().ok


def test_without_keys_the_standard_aws_chain_is_used(project, s3, monkeypatch, tmp_path):
    put(s3, "exports/a.csv", b"id,city\n1,Prague\n2,Brno\n")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chain-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-chain-4d1e")
    with pytest.warns(kb.KeboolaNotice, match="standard AWS credential chain"):
        chain = project.connections.add("chain", f"s3://{s3.bucket}/exports/")
    assert "accessKeyId" not in chain.db and "#secretAccessKey" not in chain.db
    assert chain.test().ok and list(chain.tables()["key"]) == ["exports/a.csv"]
    config = project.extractors.create_from_yaml("chain-csv",
                                                 "connection: chain\nfiles:\n  - key: exports/*\n    table: cities\n")
    # Keboola refuses empty keys: its vault supplies the AWS chain's variables
    assert config.configuration["parameters"] == {"loginType": "credentials",
                                                  "accessKeyId": "{{ vault.AWS_ACCESS_KEY_ID }}",
                                                  "#secretAccessKey": "{{ vault.AWS_SECRET_ACCESS_KEY }}"}
    job = project.run("chain-csv")
    assert job.status == "success" and job.tables[0]["rows"] == 2, job.error
    assert not any("credential chain" in line for line in job.log)  # both variables are set here
    assert not [p for p in project.root.rglob("*") if p.is_file() and b"canary-chain-4d1e" in p.read_bytes()]

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    project.connections.close()  # a fresh connector looks for credentials again
    d = project.connections.get("chain").test()
    assert d.problem == "secret" and "no AWS credentials were found" in d.message and "AWS_PROFILE" in d.fix
    with pytest.raises(KeboolaError, match="both the access key id and the secret access key, or neither"):
        project.connections.add("half", f"s3://{s3.bucket}/exports/", access_key="test")


def test_chain_login_takes_the_vault_variables_when_set_here_else_the_aws_chain(project, s3, monkeypatch, tmp_path):
    from keboola_nb.connectors.s3 import S3Connector
    from keboola_nb.store.secrets import write_secret_file

    put(s3, "exports/a.csv", b"id,city\n1,Prague\n")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    profile = tmp_path / "credentials"
    profile.write_text("[default]\naws_access_key_id = profile-key\naws_secret_access_key = profile-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(profile))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    used: list[str] = []
    real = S3Connector._credentials
    monkeypatch.setattr(S3Connector, "_credentials", lambda self: used.append(real(self)[0]) or real(self))
    with pytest.warns(kb.KeboolaNotice):
        project.connections.add("chain", f"s3://{s3.bucket}/exports/")
    project.extractors.create_from_yaml("chain-csv", "connection: chain\nfiles:\n  - key: exports/*\n    table: t\n")
    used.clear()
    job = project.run("chain-csv")
    assert job.status == "success", job.error
    assert set(used) == {"profile-key"}  # no vault variable here: the kernel's chain (the profile), said in the log
    assert any("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set here" in line and "credential chain"
               in line for line in job.log), job.log

    write_secret_file("AWS_ACCESS_KEY_ID", "vault-file-key")
    write_secret_file("AWS_SECRET_ACCESS_KEY", "vault-file-secret")
    used.clear()
    job = project.run("chain-csv")
    assert job.status == "success", job.error
    assert set(used) == {"vault-file-key"} and not any("credential chain" in line for line in job.log)


def test_role_login_assumes_the_role_and_is_stored_as_keboola_does(project, s3, moto_endpoint, monkeypatch, tmp_path):
    put(s3, "exports/a.csv", b"id,city\n1,Prague\n2,Brno\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_endpoint)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "base-identity")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "base-secret")
    arn = "arn:aws:iam::123456789012:role/keboola-s3-reader"
    role = project.connections.add("role", f"s3://{s3.bucket}/exports/", role_arn=arn)
    assert role.db == {"bucket": s3.bucket, "prefix": "exports/", "loginType": "role", "accountId": "123456789012",
                       "roleName": "keboola-s3-reader"}
    key, _, token = role.connector()._credentials()
    assert token and key != "base-identity"  # temporary keys from STS, not the kernel's own
    assert role.test().ok
    config = project.extractors.create_from_yaml(
        "role-csv", "connection: role\nfiles:\n  - key: exports/*\n    table: cities\n")
    login = {"loginType": "role", "accountId": "123456789012", "roleName": "keboola-s3-reader"}
    assert config.configuration["parameters"] == login
    job = project.run("role-csv")
    assert job.status == "success" and job.tables[0]["rows"] == 2, job.error
    writer = project.writers.create("role-out", "role", [{"table": config.default_table_id("cities"), "file": "c.csv"}])
    assert writer.configuration["parameters"] == {**login, "bucket": s3.bucket}
    assert project.run("role-out").status == "success"
    assert s3.get_object(Bucket=s3.bucket, Key="exports/c.csv")["Body"].read().startswith(b"id,city")
    with pytest.raises(KeboolaError, match="not an IAM role ARN"):
        project.connections.add("bad", f"s3://{s3.bucket}/", role_arn="keboola-s3-reader")
    with pytest.raises(KeboolaError, match="a role or keys, not both"):
        project.connections.add("both", f"s3://{s3.bucket}/", role_arn=arn, access_key="x", password=kb.secret("SK"))


def test_shorthand_becomes_keboola_config(project, s3, exports):
    put(s3, "exports/2024/jan.csv", b"id,city,amount\n1,Prague,10\n")
    config = project.extractors.create_from_yaml("sales", SHORTHAND)
    folder = project.root / "main" / "extractor" / "keboola.ex-aws-s3" / "sales"
    root = json.loads((folder / "config.json").read_text())["parameters"]
    assert root == {"loginType": "credentials", "accessKeyId": "test", "#secretAccessKey": "{{ vault.SK }}"}
    row = json.loads((folder / "rows" / "city-sales" / "config.json").read_text())
    assert row["parameters"] == {"bucket": s3.bucket, "key": "exports/2024/*", "includeSubfolders": False,
                                 "newFilesOnly": True, "limit": 0}
    move, manifest, skip = row["processors"]["after"]
    assert move["definition"]["component"] == "keboola.processor-move-files"
    assert move["parameters"]["folder"] == "city_sales"
    assert manifest["definition"]["component"] == "keboola.processor-create-manifest"
    assert manifest["parameters"] == {"delimiter": ",", "enclosure": '"', "incremental": True,
                                      "primary_key": ["id"], "columns_from": "header"}
    assert skip == {"definition": {"component": "keboola.processor-skip-lines"}, "parameters": {"lines": 1}}
    assert config.component_id == "keboola.ex-aws-s3"


@pytest.mark.parametrize("entry, message", [
    ({"key": "exports/2024/", "table": "t"}, "ends with '/'"),
    ({"key": "exports/2024/jan.csv", "table": "t", "include_subfolders": True}, "without wildcard"),
    ({"key": "exports/2024/*", "table": "t", "primary_key": ["nope"]}, "not in the file's header"),
    ({"key": "exports/2024/*.csv", "table": "t"}, r"wildcard only at the end of the key .* e.g. exports/2024/\*"),
])
def test_keboola_rules_are_enforced(project, s3, exports, entry, message):
    put(s3, "exports/2024/jan.csv", b"id,city\n1,Prague\n")
    with pytest.raises(KeboolaError, match=message):
        project.extractors.create("bad", "exports", [entry])


def test_infer_shows_columns_before_creating(project, s3, exports):
    from keboola_nb.components.s3_extractor.build import infer

    put(s3, "exports/2024/jan.csv", b"id,city,amount\n1,Prague,10.5\n")
    schema = infer(exports, "exports/2024/*.csv")
    assert dict(zip(schema["column"], schema["type"])) == {"id": "BIGINT", "city": "VARCHAR", "amount": "DOUBLE"}


def test_run_loads_matched_files_and_new_files_only_on_second_run(project, s3, exports):
    put(s3, "exports/2024/jan.csv", b"id,city,amount\n1,Prague,10\n2,Brno,20\n")
    put(s3, "exports/2024/feb.csv", b"id,city,amount\n3,Ostrava,30\n")
    put(s3, "exports/2024/sub/deep.csv", b"id,city,amount\n9,Deep,90\n")  # not matched: no subfolders
    put(s3, "exports/2024-gz/mar.csv.gz", gzip.compress(b"id,city,amount\n8,Gz,80\n"))  # not matched: prefix
    config = project.extractors.create_from_yaml("sales", SHORTHAND)
    job = project.run("sales")
    assert job.status == "success", job.error
    bucket = f"in.c-keboola-ex-aws-s3-{config.id}"
    assert job.tables[0]["table_id"] == f"{bucket}.city_sales"
    rows = project.storage.query(f'SELECT id, city, amount FROM "{bucket}".city_sales ORDER BY id')
    assert [tuple(r) for r in rows.itertuples(index=False)] == [(1, "Prague", 10), (2, "Brno", 20), (3, "Ostrava", 30)]
    assert job.tables[0]["files"] == 2
    state = project.state.row(config.id, config.rows[0].id)
    stamps = {k: int(s3.head_object(Bucket=s3.bucket, Key=k)["LastModified"].timestamp())
              for k in ("exports/2024/jan.csv", "exports/2024/feb.csv")}  # the two puts may straddle a second
    assert set(state) == {"lastDownloadedFileTimestamp", "processedFilesInLastTimestampSecond"}  # Keboola's state
    assert state["lastDownloadedFileTimestamp"] == str(max(stamps.values()))
    assert state["processedFilesInLastTimestampSecond"] == sorted(k for k, t in stamps.items()
                                                                  if t == max(stamps.values()))

    again = project.run("sales")
    assert again.status == "success" and again.tables == []  # nothing new: nothing read
    time.sleep(1.1)  # S3 timestamps have one-second resolution
    put(s3, "exports/2024/apr.csv", b"id,city,amount\n3,Ostrava,33\n4,Zlin,40\n")
    third = project.run("sales")
    assert third.status == "success", third.error
    assert third.tables[0]["files"] == 1 and third.tables[0]["rows"] == 2
    rows = project.storage.query(f'SELECT id, amount FROM "{bucket}".city_sales ORDER BY id')
    assert [tuple(r) for r in rows.itertuples(index=False)] == [(1, 10), (2, 20), (3, 33), (4, 40)]  # upsert by id
    assert project.state.row(config.id, config.rows[0].id)["processedFilesInLastTimestampSecond"] == \
        ["exports/2024/apr.csv"]


def test_gzip_files_get_keboolas_decompress_chain(project, s3, exports):
    put(s3, "exports/gz/day-1.csv.gz", gzip.compress(b"id,city\n1,Prague\n"))
    put(s3, "exports/gz/day-2.csv.gz", gzip.compress(b"id,city\n2,Brno\n"))
    config = project.extractors.create("gz", "exports", [{"key": "exports/gz/*", "table": "cities", "limit": 1,
                                                          "filename_column": True}])
    after = config.rows[0].configuration["processors"]["after"]
    assert [p["definition"]["component"].removeprefix("keboola.processor-") for p in after] == [
        "decompress", "move-files", "flatten-folders", "create-manifest", "skip-lines", "add-filename-column"]
    assert after[2]["parameters"] == {"starting_depth": 1}
    job = project.run("gz")
    assert job.status == "success", job.error
    assert job.tables[0]["files"] == 1 and job.tables[0]["rows"] == 1  # limit caps the files
    loaded = project.storage.preview(f"in.c-keboola-ex-aws-s3-{config.id}.cities")
    # decompress: folder day-1.csv.gz/ holding day-1.csv; move-files adds .csv; flatten-folders joins with '-'
    # and doubles each '-'
    assert loaded[["id", "city", "filename"]].values.tolist() == [[1, "Prague", "day--1.csv.gz.csv-day--1.csv"]]


def test_chains_keboola_would_run_differently_are_refused(project, s3, exports):
    put(s3, "exports/mixed/a.csv", b"id\n1\n")
    put(s3, "exports/mixed/b.csv.gz", gzip.compress(b"id\n2\n"))
    with pytest.raises(KeboolaError, match=r"matches files of several kinds \(csv, csv \(gzip\)\)"):
        project.extractors.create("mixed", "exports", [{"key": "exports/mixed/*"}])
    put(s3, "exports/plain/a.csv", b"id\n1\n")
    data = project.extractors.build("plain", "exports", [{"key": "exports/plain/*", "table": "t"}]).to_json()
    after = data["rows"][0]["configuration"]["processors"]["after"]
    no_skip = json.loads(json.dumps(data))
    no_skip["rows"][0]["configuration"]["processors"]["after"].pop()
    with pytest.raises(KeboolaError, match="would load each file's header line as a data row"):
        project.extractors.from_json(json.dumps(no_skip))
    swapped = json.loads(json.dumps(data))
    swapped["rows"][0]["configuration"]["processors"]["after"] = [after[1], after[0], after[2]]
    with pytest.raises(KeboolaError, match="not in Keboola's order"):
        project.extractors.from_json(json.dumps(swapped))
    unflattened = json.loads(json.dumps(data))
    unflattened["rows"][0]["configuration"]["processors"]["after"].insert(
        0, {"definition": {"component": "keboola.processor-decompress"}})
    with pytest.raises(KeboolaError, match="add keboola.processor-flatten-folders"):
        project.extractors.from_json(json.dumps(unflattened))

    config = project.extractors.save(project.extractors.from_json(json.dumps(data)))
    put(s3, "exports/plain/b.csv.gz", gzip.compress(b"id\n2\n"))  # arrives later: Keboola would load its bytes
    job = project.run("plain")
    assert job.status == "error" and "b.csv.gz is compressed" in job.error and "processor-decompress" in job.error
    assert project.storage.tables().empty and config.rows


def test_subfolders_wildcard(project, s3, exports):
    put(s3, "exports/events/2024/a.csv", b"id,kind\n1,click\n")
    put(s3, "exports/events/2025/b.csv", b"id,kind\n2,view\n")
    project.extractors.create("events", "exports", [
        {"key": "exports/events/*", "table": "events", "include_subfolders": True}])
    job = project.run("events")
    assert job.status == "success", job.error
    assert job.tables[0]["rows"] == 2 and job.tables[0]["files"] == 2


def test_json_files_are_refused_as_keboola_has_no_processor_for_them(project, s3, exports):
    put(s3, "exports/events/a.jsonl", b'{"id": 1, "kind": "click"}\n')
    with pytest.raises(KeboolaError, match="JSON files, and Keboola has no processor of its own") as refused:
        project.extractors.create("events", "exports", [{"key": "exports/events/*", "table": "events"}])
    assert "CSV or Parquet" in refused.value.fix
    put(s3, "exports/later/a.csv", b"id\n1\n")
    project.extractors.create("later", "exports", [{"key": "exports/later/*", "table": "later"}])
    put(s3, "exports/later/b.json", b'{"id": 2}\n')  # a JSON file arrives under a CSV row
    job = project.run("later")
    assert job.status == "error" and "b.json is a JSON file" in job.error


def test_parquet_files_become_a_table_through_parquet2csv(project, s3, exports):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, ids in (("part-1.parquet", [1, 2]), ("part-2.parquet", [3])):
        buffer = io.BytesIO()
        pq.write_table(pa.table({"id": ids, "city": ["x"] * len(ids)}), buffer)
        put(s3, f"exports/pq/{name}", buffer.getvalue())
    config = project.extractors.create("pq", "exports", [{"key": "exports/pq/*", "table": "cities",
                                                          "primary_key": ["id"], "filename_column": True}])
    assert config.rows[0].configuration["processors"]["after"] == [
        {"definition": {"component": "kds-team.processor-parquet2csv"},
         "parameters": {"table_name": "cities.csv", "incremental": True, "primary_keys": ["id"],
                        "include_filename": True}}]
    job = project.run("pq")
    assert job.status == "success", job.error
    rows = project.storage.query(f'SELECT id, parquet_filename FROM "in.c-keboola-ex-aws-s3-{config.id}".cities '
                                 "ORDER BY id")
    assert [tuple(r) for r in rows.itertuples(index=False)] == [(1, "/part-1.parquet"), (2, "/part-1.parquet"),
                                                                 (3, "/part-2.parquet")]
    with pytest.raises(KeboolaError, match="header describe CSV files"):
        project.extractors.create("pq2", "exports", [{"key": "exports/pq/*", "header": False}])


def test_state_with_the_old_keys_is_read_once(project, s3, exports):
    put(s3, "exports/2024/jan.csv", b"id,city,amount\n1,Prague,10\n")
    config = project.extractors.create_from_yaml("sales", SHORTHAND)
    stamp = int(s3.head_object(Bucket=s3.bucket, Key="exports/2024/jan.csv")["LastModified"].timestamp())
    row = config.rows[0].id
    project.state.update(config.id, {row: {"lastTimestamp": stamp, "filesInLastTimestamp": ["exports/2024/jan.csv"]}})
    job = project.run("sales")
    assert job.status == "success" and job.tables == []  # the old state still says jan.csv was loaded
    time.sleep(1.1)
    put(s3, "exports/2024/feb.csv", b"id,city,amount\n2,Brno,20\n")
    assert project.run("sales").tables[0]["files"] == 1
    state = project.state.row(config.id, row)
    assert set(state) == {"lastDownloadedFileTimestamp", "processedFilesInLastTimestampSecond"}
    assert state["processedFilesInLastTimestampSecond"] == ["exports/2024/feb.csv"]


def test_failed_run_leaves_storage_and_state_untouched(project, s3, exports):
    put(s3, "exports/2024/jan.csv", b"id,city,amount\n1,Prague,10\n")
    config = project.extractors.create_from_yaml("sales", SHORTHAND)
    s3.delete_object(Bucket=s3.bucket, Key="exports/2024/jan.csv")
    job = project.run("sales")
    assert job.status == "error" and "no file" in job.error
    assert project.state.row(config.id, config.rows[0].id) == {}
    assert project.storage.tables().empty


def test_magics_connect_browse_create_and_run(project, s3, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from keboola_nb import magics

    put(s3, "exports/2024/jan.csv", b"id,city,amount\n1,Prague,10\n")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    diagnosis = shell.run_line_magic(
        "keboola", f"connect exports s3://{s3.bucket}/exports/ --access-key-env AK --secret-env SK")
    assert diagnosis.ok, diagnosis
    assert list(shell.run_line_magic("keboola", "tables exports")["key"]) == ["exports/2024/jan.csv"]
    schema = shell.run_line_magic("keboola", "describe exports exports/2024/*.csv")
    assert list(schema["column"]) == ["id", "city", "amount"]
    shell.run_cell_magic("keboola", "extractor sales", SHORTHAND)
    assert project.run("sales").tables[0]["rows"] == 1
    monkeypatch.setattr(magics, "_project", None)


def test_files_without_header_auto_names_and_given_columns(project, s3, exports):
    put(s3, "exports/raw/a.csv", b"1,Prague,10\n2,Brno,20\n")
    put(s3, "exports/raw/b.csv", b"3,Ostrava,30\n")
    config = project.extractors.create("raw", "exports", [
        {"key": "exports/raw/*", "table": "auto", "header": False, "primary_key": ["col_1"]},
        {"key": "exports/raw/a.csv", "table": "named", "columns": ["id", "city", "amount"]}])
    manifests = [r.configuration["processors"]["after"][1]["parameters"] for r in config.rows]
    assert manifests[0]["columns_from"] == "auto" and "columns" not in manifests[0]
    assert manifests[1]["columns"] == ["id", "city", "amount"] and "columns_from" not in manifests[1]
    job = project.run("raw")
    assert job.status == "success", job.error
    bucket = f"in.c-keboola-ex-aws-s3-{config.id}"
    auto = project.storage.query(f'SELECT * EXCLUDE (_timestamp) FROM "{bucket}".auto ORDER BY col_1')
    assert list(auto.columns) == ["col_1", "col_2", "col_3"] and list(auto["col_2"]) == ["Prague", "Brno", "Ostrava"]
    named = project.storage.query(f'SELECT id, city FROM "{bucket}".named ORDER BY id')
    assert [tuple(r) for r in named.itertuples(index=False)] == [(1, "Prague"), (2, "Brno")]  # no row lost to a header
    with pytest.raises(KeboolaError, match="not in the file's header"):
        project.extractors.create("bad", "exports", [{"key": "exports/raw/a.csv", "header": False,
                                                      "primary_key": ["id"]}])


def test_filename_and_row_number_columns(project, s3, exports):
    big = "".join(f"{i},{i % 7}\n" for i in range(200_000)).encode()
    put(s3, "exports/parts/2024/one.csv", b"id,v\n" + big)
    put(s3, "exports/parts/2025/two.csv", b"id,v\n0,a\n1,b\n")
    config = project.extractors.create("parts", "exports", [
        {"key": "exports/parts/*", "table": "parts", "include_subfolders": True,
         "filename_column": "source_file", "row_number_column": True}])
    after = config.rows[0].configuration["processors"]["after"]
    assert after[2:] == [  # after skip-lines: Keboola's add-*-column need headerless files; the UI's order
        {"definition": {"component": "keboola.processor-skip-lines"}, "parameters": {"lines": 1}},
        {"definition": {"component": "keboola.processor-add-row-number-column"},
         "parameters": {"column_name": "row_number"}},
        {"definition": {"component": "keboola.processor-add-filename-column"},
         "parameters": {"column_name": "source_file"}}]
    job = project.run("parts")
    assert job.status == "success", job.error
    table = f'"in.c-keboola-ex-aws-s3-{config.id}".parts'
    counts = project.storage.query(f"SELECT source_file, count(*) AS n, max(row_number) AS last, "
                                   f"count(*) FILTER (WHERE row_number <> id + 1) AS off FROM {table} "
                                   f"GROUP BY source_file ORDER BY source_file")
    # the name Keboola's files have when add-filename-column runs: the extractor's, then move-files' .csv suffix
    assert [tuple(r) for r in counts.itertuples(index=False)] == [("2024-one.csv.csv", 200_000, 200_000, 0),
                                                                   ("2025-two.csv.csv", 2, 2, 0)]


def test_added_columns_from_keboola_json_take_the_default_names(project, s3, exports):
    put(s3, "exports/x.csv", b"id\n5\n")
    data = project.extractors.build("x", "exports", [{"key": "exports/x.csv", "table": "x"}]).to_json()
    data["rows"][0]["configuration"]["processors"]["after"] += [
        {"definition": {"component": "keboola.processor-add-row-number-column"}},
        {"definition": {"component": "keboola.processor-add-filename-column"}}]
    config = project.extractors.save(project.extractors.from_json(json.dumps(data)))
    assert project.run("x").status == "success"
    loaded = project.storage.preview(f"in.c-keboola-ex-aws-s3-{config.id}.x")
    assert list(loaded.columns) == ["id", "row_number", "filename"]
    assert loaded.iloc[0].tolist() == [5, 1, "x.csv.csv"]  # move-files' addCsvSuffix names the file first
    data["rows"][0]["configuration"]["processors"]["after"][1]["parameters"]["columns_from"] = "first-line"
    with pytest.raises(KeboolaError, match="columns_from 'first-line' is not supported"):
        project.extractors.from_json(json.dumps(data))
