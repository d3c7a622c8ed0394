"""S3 extractor and writer configurations against the real components' formats, field by field: the
aws-s3-extractor / aws-s3-writer ConfigDefinition rules, the processors' parameter definitions, the rows
Keboola's UI writes (kbc-ui ex-aws-s3 row.spec.def.js, wr-aws-s3 configuration.js), the extractor's file
names (Finder.php and its functional test limit/not-exceeded) and its state (State.php)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from test_s3 import exports, moto_endpoint, put, s3  # noqa: F401  (fixtures)

import keboola_nb as kb

# aws-s3-extractor ConfigDefinition: parameters is a plain arrayNode (unknown keys are refused).
EXTRACTOR_PARAMETERS = {"loginType", "accessKeyId", "#secretAccessKey", "accountId", "roleName", "bucket", "key",
                        "includeSubfolders", "newFilesOnly", "saveAs", "limit", "decodeContent"}
# aws-s3-writer ConfigDefinition.
WRITER_PARAMETERS = {"loginType", "accessKeyId", "#secretAccessKey", "accountId", "roleName", "bucket", "prefix"}
# Each processor's parameters (its ConfigDefinition, or parquet2csv's pydantic model): key -> allowed values or type.
PROCESSORS: dict[str, dict[str, Any]] = {
    "keboola.processor-decompress": {"compression_type": {"auto", "zip", "gzip", "snappy", "zlib"}, "graceful": bool,
                                     "zlib_window_size": int},
    "keboola.processor-move-files": {"direction": {"tables", "files"}, "addCsvSuffix": bool, "folder": str,
                                     "createEmptyFolder": bool},
    "keboola.processor-flatten-folders": {"starting_depth": {0, 1}, "flatten_strategy": {"concat", "hash-sha256"}},
    "keboola.processor-create-manifest": {"delimiter": str, "enclosure": str, "columns": list,
                                          "columns_from": {"header", "auto"}, "primary_key": list, "incremental": bool,
                                          "has_header": bool},
    "keboola.processor-skip-lines": {"lines": int, "direction_from": {"top", "bottom"}},
    "keboola.processor-add-filename-column": {"column_name": str},
    "keboola.processor-add-row-number-column": {"column_name": str},
    "kds-team.processor-parquet2csv": {"table_name": str, "columns": list, "incremental": bool, "primary_keys": list,
                                       "include_filename": bool, "file_mask": str, "debug": bool,
                                       "fill_empty_values": bool, "mode": str},
}
CHAIN_LOGIN = {"loginType": "credentials", "accessKeyId": "{{ vault.AWS_ACCESS_KEY_ID }}",
               "#secretAccessKey": "{{ vault.AWS_SECRET_ACCESS_KEY }}"}

# kbc-ui ex-aws-s3 row.spec.def.js, case `decompress` (header + gzip), as the UI saves it.
UI_DECOMPRESS_ROW = {
    "parameters": {"bucket": "mybucket", "key": "mykey", "includeSubfolders": False, "newFilesOnly": False},
    "processors": {"after": [
        {"definition": {"component": "keboola.processor-decompress"}},
        {"definition": {"component": "keboola.processor-move-files"},
         "parameters": {"direction": "tables", "addCsvSuffix": True, "folder": "mytable"}},
        {"definition": {"component": "keboola.processor-flatten-folders"}, "parameters": {"starting_depth": 1}},
        {"definition": {"component": "keboola.processor-create-manifest"},
         "parameters": {"delimiter": ",", "enclosure": "'", "incremental": False, "primary_key": [],
                        "columns_from": "header"}},
        {"definition": {"component": "keboola.processor-skip-lines"}, "parameters": {"lines": 1}},
    ]},
}
# kbc-ui wr-aws-s3 adapters/configuration.js, a row as the UI saves it.
UI_WRITER_ROW = {
    "parameters": {"prefix": "myprefix/"},
    "storage": {"input": {"tables": [{"source": "in.c-main.data", "destination": "data.csv"}]}},
    "processors": {"before": [{"definition": {"component": "keboola.processor-move-files"},
                               "parameters": {"direction": "files"}}]},
}


def check_extractor_parameters(parameters: dict[str, Any]) -> None:
    """aws-s3-extractor ConfigDefinition and addValidate, on a row's parameters merged with the root."""
    assert set(parameters) <= EXTRACTOR_PARAMETERS, set(parameters) - EXTRACTOR_PARAMETERS
    assert parameters.get("loginType", "credentials") in ("credentials", "role")
    role = parameters.get("loginType") == "role"
    required = ("accountId", "roleName") if role else ("accessKeyId", "#secretAccessKey")
    for key in required:  # isset + cannotBeEmpty
        assert isinstance(parameters.get(key), str) and parameters[key], key
    for key in ("bucket", "key"):  # isRequired + cannotBeEmpty
        assert isinstance(parameters.get(key), str) and parameters[key], key
    assert not parameters["key"].endswith("/")
    assert isinstance(parameters.get("includeSubfolders", False), bool)
    assert isinstance(parameters.get("newFilesOnly", False), bool)
    assert isinstance(parameters.get("limit", 0), int) and parameters.get("limit", 0) >= 0
    assert not parameters.get("includeSubfolders") or parameters["key"].endswith("*")  # Finder's rule


def check_processors(processors: list[dict[str, Any]]) -> None:
    for entry in processors:
        assert set(entry) <= {"definition", "parameters"}
        component = entry["definition"]["component"]
        allowed = PROCESSORS[component]
        for key, value in (entry.get("parameters") or {}).items():
            rule = allowed[key]
            assert value in rule if isinstance(rule, set) else isinstance(value, rule), (component, key, value)
        if component == "keboola.processor-skip-lines":
            assert entry["parameters"]["lines"] >= 1
        if component == "keboola.processor-move-files":
            assert "direction" in entry["parameters"]  # required
        if component == "kds-team.processor-parquet2csv":
            assert entry["parameters"]["table_name"]  # required


def names(processors: list[dict[str, Any]]) -> list[str]:
    return [p["definition"]["component"] for p in processors]


def test_the_ui_decompress_row_is_what_we_write_for_a_gzip_csv_with_a_header(project, s3, exports):  # noqa: F811
    put(s3, "exports/mykey.csv.gz", gzip.compress(b"id,city\n1,Prague\n"))
    config = project.extractors.create("golden", "exports", [
        {"key": "exports/mykey.csv.gz", "table": "mytable", "enclosure": "'"}])
    row = config.rows[0].configuration
    assert row["processors"] == UI_DECOMPRESS_ROW["processors"]
    expected = {**UI_DECOMPRESS_ROW["parameters"], "bucket": s3.bucket, "key": "exports/mykey.csv.gz", "limit": 0}
    assert row["parameters"] == expected  # the UI's keys, and limit (its default)
    check_extractor_parameters(config.merged(config.rows[0])["parameters"])
    check_processors(row["processors"]["after"])
    job = project.run("golden")
    assert job.status == "success" and job.tables[0]["rows"] == 1, job.error  # the header is no data row

    data = config.to_json()  # the UI's own row is read as it is
    data["rows"][0]["configuration"] = json.loads(json.dumps(UI_DECOMPRESS_ROW))
    from keboola_nb.components.s3_extractor.model import check_rows

    table = dict(check_rows(project.extractors.from_json(json.dumps(data))))["mytable"]
    assert (table.table, table.decompress, table.skip_header, table.manifest.enclosure) == ("mytable", True, True, "'")


@pytest.mark.parametrize("entry, chain", [
    ({"key": "exports/raw/*", "table": "raw", "header": False, "row_number_column": True, "filename_column": True},
     ["keboola.processor-move-files", "keboola.processor-create-manifest", "keboola.processor-add-row-number-column",
      "keboola.processor-add-filename-column"]),
    ({"key": "exports/raw/*", "table": "named", "columns": ["col1", "col2"], "primary_key": ["col1"]},
     ["keboola.processor-move-files", "keboola.processor-create-manifest"]),
    ({"key": "exports/raw/*", "table": "headed", "include_subfolders": True, "new_files_only": True},
     ["keboola.processor-move-files", "keboola.processor-create-manifest", "keboola.processor-skip-lines"]),
])
def test_csv_rows_follow_the_ui_chain_and_the_processors_definitions(project, s3, exports, entry, chain):  # noqa: F811
    put(s3, "exports/raw/a.csv", b"1,x\n")
    config = project.extractors.create("golden", "exports", [entry])
    after = config.rows[0].configuration["processors"]["after"]
    assert names(after) == chain
    check_processors(after)
    check_extractor_parameters(config.merged(config.rows[0])["parameters"])
    manifest = after[1]["parameters"]
    assert ("columns" in manifest) != ("columns_from" in manifest)  # the UI's conform.js keeps one of them
    if "columns" in manifest:  # the UI's `simple` case: manual columns, no skip-lines
        assert manifest == {"delimiter": ",", "enclosure": '"', "incremental": True, "primary_key": ["col1"],
                            "columns": ["col1", "col2"]}


def test_parquet_rows_take_parquet2csv(project, s3, exports):  # noqa: F811
    config = project.extractors.create("golden", "exports", [{"key": "exports/data.parquet", "table": "t"}])
    after = config.rows[0].configuration["processors"]["after"]
    assert names(after) == ["kds-team.processor-parquet2csv"]
    check_processors(after)
    assert after[0]["parameters"]["table_name"] == "t.csv"  # the table 't', as Keboola names out/tables/t.csv


def test_every_login_is_one_keboola_accepts(project, s3, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chain-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    project.connections.add("keys", f"s3://{s3.bucket}/", access_key="test", password=kb.secret("SK"))
    with pytest.warns(kb.KeboolaNotice):
        project.connections.add("chain", f"s3://{s3.bucket}/")
    project.connections.add("role", f"s3://{s3.bucket}/", role_arn="arn:aws:iam::123456789012:role/reader")
    roots = {}
    for name in ("keys", "chain", "role"):
        config = project.extractors.create(f"golden-{name}", name, [{"key": "exports/a.csv", "table": "a"}])
        check_extractor_parameters(config.merged(config.rows[0])["parameters"])
        roots[name] = config.configuration["parameters"]
    assert roots["chain"] == CHAIN_LOGIN  # not empty keys: Keboola's vault supplies the kernel chain's variables
    assert roots["role"] == {"loginType": "role", "accountId": "123456789012", "roleName": "reader"}


@pytest.mark.parametrize("change, message", [
    ({"accessKeyId": ""}, "accessKeyId must not be empty: Keboola's S3 components refuse empty keys"),
    ({"#secretAccessKey": ""}, "#secretAccessKey must not be empty"),
    ({"saveAs": "x"}, "unknown key 'saveAs'"),
    ({"loginType": "sso"}, "loginType"),
])
def test_what_keboola_refuses_in_the_root_is_refused(project, s3, exports, change, message):  # noqa: F811
    data = project.extractors.build("golden", "exports", [{"key": "exports/a.csv", "table": "a"}]).to_json()
    data["configuration"]["parameters"].update(change)
    with pytest.raises(kb.KeboolaError, match=message):
        project.extractors.from_json(json.dumps(data))


def test_downloaded_file_names_are_finders(project):
    from keboola_nb.components.s3_extractor.build import downloaded_name
    from keboola_nb.components.s3_extractor.model import S3Row

    login = {"accessKeyId": "k", "#secretAccessKey": "{{ vault.S }}", "bucket": "b"}
    subfolders = S3Row.model_validate({**login, "key": "f*", "includeSubfolders": True})
    # aws-s3-extractor tests/Functional/limit/not-exceeded: key f*, includeSubfolders true
    assert {k: downloaded_name(subfolders, k) for k in (
        "file1.csv", "folder1/file1.csv", "folder2/collision-file1.csv", "folder2/collision/file1.csv",
        "folder2/file3/file1.csv")} == {
        "file1.csv": "file1.csv", "folder1/file1.csv": "folder1-file1.csv",
        "folder2/collision-file1.csv": "folder2-collision--file1.csv",
        "folder2/collision/file1.csv": "folder2-collision-file1.csv",
        "folder2/file3/file1.csv": "folder2-file3-file1.csv"}
    nested = S3Row.model_validate({**login, "key": "exports/in-2024/*", "includeSubfolders": True})
    assert downloaded_name(nested, "exports/in-2024/a-b/c.csv") == "a--b-c.csv"  # below the key's folder
    named = S3Row.model_validate({**login, "key": "exports/in-*", "includeSubfolders": True})
    assert downloaded_name(named, "exports/in-2024/c.csv") == "in--2024-c.csv"  # the folder is the part before the /
    flat = S3Row.model_validate({**login, "key": "exports/*"})
    assert downloaded_name(flat, "exports/a-b.csv") == "a-b.csv"  # no escaping without includeSubfolders


def test_state_is_the_extractors(project):
    from keboola_nb.components.s3_extractor.run import new_files, next_state
    from keboola_nb.connectors.s3 import S3File

    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    stamp = int(at.timestamp())
    files = [S3File("a.csv", 1, at), S3File("b.csv", 1, at)]
    state = next_state(files[:1], {})
    assert state == {"lastDownloadedFileTimestamp": str(stamp), "processedFilesInLastTimestampSecond": ["a.csv"]}
    assert [f.key for f in new_files(files, state)] == ["b.csv"]  # same second, not yet loaded
    assert next_state(files[1:], state)["processedFilesInLastTimestampSecond"] == ["a.csv", "b.csv"]


def test_the_ui_writer_row_is_what_we_write(project, s3, exports):  # noqa: F811
    from keboola_nb.connectors.base import Scan

    with project.storage.transaction() as loader:
        loader.load("in.c-main.data", Scan("SELECT 1 AS id"))
    config = project.writers.create("golden-out", "exports", [{"table": "in.c-main.data", "file": "data.csv"}],
                                    prefix="myprefix/")
    row = config.rows[0].configuration
    expected = json.loads(json.dumps(UI_WRITER_ROW))
    expected["storage"]["input"]["tables"][0]["columns"] = []  # all columns, stated
    assert row == expected
    root = config.configuration["parameters"]
    assert set(root) <= WRITER_PARAMETERS and root["accessKeyId"] and root["#secretAccessKey"] and root["bucket"]
    check_processors(row["processors"]["before"])

    data = config.to_json()  # the UI's own row is read as it is
    data["rows"][0]["configuration"] = json.loads(json.dumps(UI_WRITER_ROW))
    from keboola_nb.components.s3_writer.model import check_rows

    (_, p), = check_rows(project.writers.from_json(json.dumps(data)))
    assert p.key == "myprefix/data.csv"
    data["rows"][0]["configuration"]["storage"]["input"]["tables"][0]["destination"] = "data.csv.gz"
    with pytest.raises(kb.KeboolaError, match="uploads the CSV as it is"):
        project.writers.from_json(json.dumps(data))
