"""The S3 writer against moto (an S3 emulator started in-process): storage tables as CSV files in a
bucket, overwritten exactly once per run, never half-written, secrets kept out of every output."""

from __future__ import annotations

import csv
import io
import json

import pytest

from test_s3 import moto_endpoint, s3  # noqa: F401  (fixtures)

import keboola_nb as kb
from keboola_nb.errors import KeboolaError

S3_SECRET = "canary-S3secret-4d8e2a"

WRITER = """
connection: exports
tables:
  - table: in.c-crm.activity
    file: activity.csv
  - table: in.c-crm.people
    file: people.csv
"""


@pytest.fixture
def exports(project, s3, monkeypatch):  # noqa: F811
    monkeypatch.setenv("S3_CANARY_SK", S3_SECRET)  # moto takes any key; the canary shows where it travels
    return project.connections.add("exports", f"s3://{s3.bucket}/exports/", access_key="test",
                                   password=kb.secret("S3_CANARY_SK"))


def load(project, table_id: str, sql: str, incremental: bool = False, primary_key: list | None = None) -> None:
    from keboola_nb.connectors.base import Scan

    with project.storage.transaction() as loader:
        loader.load(table_id, Scan(sql), incremental=incremental, primary_key=primary_key)


def seed(project) -> None:
    load(project, "in.c-crm.activity",
         "SELECT range AS id, 'type ' || range AS kind, (range * 1.25)::DECIMAL(10,2) AS amount, "
         "CASE WHEN range = 2 THEN NULL ELSE 'note, \"quoted\"' END AS note FROM range(5)", primary_key=["id"])
    load(project, "in.c-crm.people", "SELECT * FROM (VALUES (1, 'Jana'), (2, 'Petr')) t(id, name)")


def read_csv(s3, key: str) -> list[list[str]]:  # noqa: F811
    return list(csv.reader(io.StringIO(s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read().decode())))


def keys(s3) -> list[str]:  # noqa: F811
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", []))


def no_leftovers(s3) -> bool:  # noqa: F811
    uploads = s3.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])
    return not uploads and not any(".keboola-nb-" in k for k in keys(s3))


def scan(project, *texts: str) -> list[str]:
    hits = [str(p) for p in project.root.rglob("*") if p.is_file() and S3_SECRET.encode() in p.read_bytes()]
    return hits + [t for t in texts if S3_SECRET in t]


def test_writer_config_is_keboola_json(project, s3, exports):  # noqa: F811
    seed(project)
    config = project.writers.create_from_yaml("to-s3", WRITER)
    folder = project.root / "main" / "writer" / "keboola.wr-aws-s3" / "to-s3"
    root = json.loads((folder / "config.json").read_text())["parameters"]
    assert root == {"accessKeyId": "test", "#secretAccessKey": "{{ vault.S3_CANARY_SK }}", "bucket": s3.bucket}
    row = json.loads((folder / "rows" / "activity" / "config.json").read_text())
    assert row == {
        "parameters": {"prefix": "exports/"},
        "storage": {"input": {"tables": [{"source": "in.c-crm.activity", "destination": "activity.csv",
                                          "columns": []}]}},
        "processors": {"before": [{"definition": {"component": "keboola.processor-move-files"},
                                   "parameters": {"direction": "files"}}]},
    }
    assert config.component_id == "keboola.wr-aws-s3"
    summary = project.writers.summary(config)
    assert list(summary["target"]) == [f"s3://{s3.bucket}/exports/activity.csv",
                                       f"s3://{s3.bucket}/exports/people.csv"]


@pytest.mark.parametrize("entry, message", [
    ({"table": "in.c-crm.activty"}, "did you mean in.c-crm.activity"),
    ({"table": "in.c-crm.activity", "columns": ["idd"]}, "did you mean 'id'"),
    ({"table": "in.c-crm.activity", "file": "sub/activity.csv"}, "must be a file name"),
    ({"table": "in.c-crm.activity", "changed_since": "-7 days"}, "not supported"),
    ({"table": "in.c-crm.activity", "db_name": "x"}, "unknown key"),
    ({"table": "in.c-crm.activity", "file": "activity.csv.gz"},
     r"plain CSV under a \.gz name(.|\n)*name it activity\.csv"),
])
def test_invalid_writers_are_refused(project, s3, exports, entry, message):  # noqa: F811
    seed(project)
    with pytest.raises(KeboolaError, match=message):
        project.writers.create("bad", "exports", [entry])
    assert project.configs.find("bad") is None


def test_edited_json_is_checked(project, s3, exports):  # noqa: F811
    seed(project)
    data = project.writers.build("to-s3", "exports", ["in.c-crm.activity"]).to_json()
    processors = data["rows"][0]["configuration"].pop("processors")
    with pytest.raises(KeboolaError, match="move-files"):
        project.writers.from_json(json.dumps(data))
    data["rows"][0]["configuration"]["processors"] = processors
    data["configuration"]["parameters"]["#secretAccessKey"] = S3_SECRET  # a value, not a reference
    with pytest.raises(KeboolaError):
        project.writers.save(project.writers.from_json(json.dumps(data)))
    assert project.configs.find("to-s3") is None and scan(project) == []


def test_full_run_writes_plain_csv_with_header(project, s3, exports):  # noqa: F811
    seed(project)
    project.writers.create_from_yaml("to-s3", WRITER)
    job = project.run("to-s3")
    assert job.status == "success", job.error
    assert [t["rows"] for t in job.tables] == [5, 2]
    activity = read_csv(s3, "exports/activity.csv")
    assert activity[0] == ["id", "kind", "amount", "note"]  # no _timestamp: it is storage's own column
    assert activity[1:4] == [["0", "type 0", "0.00", 'note, "quoted"'], ["1", "type 1", "1.25", 'note, "quoted"'],
                             ["2", "type 2", "2.50", ""]]
    assert read_csv(s3, "exports/people.csv") == [["id", "name"], ["1", "Jana"], ["2", "Petr"]]
    assert keys(s3) == ["exports/activity.csv", "exports/people.csv"] and no_leftovers(s3)
    assert scan(project, job.error or "", "\n".join(job.log)) == []


def test_rerun_overwrites_each_file_exactly_once(project, s3, exports):  # noqa: F811
    seed(project)
    s3.put_object(Bucket=s3.bucket, Key="exports/activity.csv", Body=b"old,content\n1,2\n3,4\n5,6\n7,8\n9,10\n")
    project.writers.create("to-s3", "exports", [{"table": "in.c-crm.activity", "file": "activity.csv",
                                                 "columns": ["id", "kind"]}])
    assert project.run("to-s3").status == "success"
    load(project, "in.c-crm.activity", "SELECT 100 AS id, 'new' AS kind, 1.0 AS amount, NULL AS note",
         incremental=True, primary_key=["id"])
    job = project.run("to-s3")
    assert job.status == "success", job.error
    body = read_csv(s3, "exports/activity.csv")
    assert body[0] == ["id", "kind"] and len(body) == 1 + 6  # replaced, not appended
    assert sorted(int(r[0]) for r in body[1:]) == [0, 1, 2, 3, 4, 100]
    assert keys(s3) == ["exports/activity.csv"] and no_leftovers(s3)


def test_changed_since_adaptive_writes_only_new_rows(project, s3, exports):  # noqa: F811
    seed(project)
    config = project.writers.create("delta", "exports", [{"table": "in.c-crm.activity", "changed_since": "adaptive"}])
    assert project.run("delta").tables[0]["rows"] == 5
    state = project.state.row(config.id, config.rows[0].id)
    assert set(state) == {"lastImportWritten"}
    load(project, "in.c-crm.activity", "SELECT 7 AS id, 'late' AS kind, 2.0 AS amount, NULL AS note",
         incremental=True, primary_key=["id"])
    job = project.run("delta")
    assert job.status == "success", job.error
    assert read_csv(s3, "exports/activity.csv")[1:] == [["7", "late", "2.00", ""]]
    assert project.state.row(config.id, config.rows[0].id) != state
    assert project.run("delta").tables[0]["rows"] == 0  # nothing new: a file with the header only
    assert read_csv(s3, "exports/activity.csv") == [["id", "kind", "amount", "note"]]


def test_failure_mid_write_leaves_previous_files_and_no_temporaries(project, s3, exports, monkeypatch):  # noqa: F811
    """The second file fails after DuckDB has streamed parts of it: the first file is not replaced either,
    the state does not move, nothing temporary is left; the retry writes each row once."""
    from keboola_nb.components.s3_writer import run as write_s3

    seed(project)
    load(project, "in.c-crm.big", "SELECT range AS id, md5(range::VARCHAR) AS h FROM range(400000)")
    s3.put_object(Bucket=s3.bucket, Key="exports/activity.csv", Body=b"previous\n")
    s3.put_object(Bucket=s3.bucket, Key="exports/big.csv", Body=b"previous big\n")
    config = project.writers.create("two", "exports", [
        {"table": "in.c-crm.activity", "changed_since": "adaptive"}, "in.c-crm.big"])
    real = write_s3._select

    def failing_late(con, p, since):  # a value that cannot be written, after ~15 MB of the file
        sql, newest = real(con, p, since)
        if p.input.source == "in.c-crm.big":
            sql = sql.replace('"h"', "CASE WHEN id = 399000 THEN error('disk on fire') ELSE h END AS h", 1)
        return sql, newest

    monkeypatch.setattr(write_s3, "_select", failing_late)
    job = project.run("two")
    assert job.status == "error" and "disk on fire" in job.error and "left as they were" in job.error
    assert "exports/big.csv" in job.error
    assert read_csv(s3, "exports/activity.csv") == [["previous"]]
    assert read_csv(s3, "exports/big.csv") == [["previous big"]]
    assert no_leftovers(s3) and keys(s3) == ["exports/activity.csv", "exports/big.csv"]
    assert project.state.row(config.id, config.rows[0].id) == {}

    monkeypatch.setattr(write_s3, "_select", real)
    again = project.run("two")
    assert again.status == "success", again.error
    assert len(read_csv(s3, "exports/big.csv")) == 1 + 400_000
    assert len(read_csv(s3, "exports/activity.csv")) == 1 + 5
    assert no_leftovers(s3)


def test_failure_while_replacing_says_which_files_changed(project, s3, exports, monkeypatch):  # noqa: F811
    from keboola_nb.components.s3_writer import run as write_s3

    seed(project)
    project.writers.create_from_yaml("to-s3", WRITER)
    real = write_s3._replace
    calls = []

    def second_copy_fails(client, bucket, temporary, final):
        calls.append(final)
        if len(calls) == 2:
            raise OSError("connection reset by peer")
        real(client, bucket, temporary, final)

    monkeypatch.setattr(write_s3, "_replace", second_copy_fails)
    job = project.run("to-s3")
    assert job.status == "error" and "connection reset" in job.error
    assert "exports/activity.csv were already replaced" in job.error and "run it again" in job.error
    assert keys(s3) == ["exports/activity.csv"] and no_leftovers(s3)


def test_unreachable_bucket_is_one_clear_error(project, s3, exports, monkeypatch):  # noqa: F811
    seed(project)
    project.writers.create_from_yaml("to-s3", WRITER)
    s3.delete_bucket(Bucket=s3.bucket)
    job = project.run("to-s3")
    assert job.status == "error" and "activity.csv" in job.error and "left as they were" in job.error
    assert "Traceback" not in job.error and scan(project, job.error) == []


def test_magics_create_and_run_a_writer(project, s3, exports, monkeypatch):  # noqa: F811
    from IPython.core.interactiveshell import InteractiveShell

    from keboola_nb import magics

    seed(project)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    summary = shell.run_cell_magic("keboola", "writer to-s3", WRITER.replace("tables:", "prefix: out/\ntables:"))
    assert list(summary["target"]) == [f"s3://{s3.bucket}/out/activity.csv", f"s3://{s3.bucket}/out/people.csv"]
    job = shell.run_line_magic("keboola", "run to-s3")
    assert job.status == "success", job.error
    assert keys(s3) == ["out/activity.csv", "out/people.csv"]
    monkeypatch.setattr(magics, "_project", None)


def test_a_writer_without_keys_holds_the_vault_placeholders(project, s3, monkeypatch, tmp_path):  # noqa: F811
    seed(project)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chain-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    with pytest.warns(kb.KeboolaNotice):
        project.connections.add("chain", f"s3://{s3.bucket}/exports/")
    config = project.writers.create("to-s3", "chain", [{"table": "in.c-crm.people", "file": "people.csv"}])
    assert config.configuration["parameters"] == {"accessKeyId": "{{ vault.AWS_ACCESS_KEY_ID }}",
                                                  "#secretAccessKey": "{{ vault.AWS_SECRET_ACCESS_KEY }}",
                                                  "bucket": s3.bucket}
    job = project.run("to-s3")
    assert job.status == "success", job.error
    assert read_csv(s3, "exports/people.csv")[1:] == [["1", "Jana"], ["2", "Petr"]]
    data = config.to_json()
    data["configuration"]["parameters"]["accessKeyId"] = ""
    with pytest.raises(KeboolaError, match="accessKeyId must not be empty: Keboola's S3 components refuse empty keys"):
        project.writers.from_json(json.dumps(data))
