"""The project folder as the Keboola CLI (`kbc`) lays it out and requires it, checked against kbc's own fixtures
and rules (keboola/keboola-as-code): names, the manifest, a folder kbc made, links, default-bucket placeholders."""

from __future__ import annotations

import json
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell
from kbc import API_HOST, BRANCH_ID, INIT_NAMING, INIT_TEMPLATES, PROJECT_ID, kbc_pulled_folder, problems, snapshot

import keboola_nb as kb
from keboola_nb.store.naming import normalize_name, unique

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


@pytest.mark.parametrize("name, folder", [
    # internal/pkg/utils/strhelper/strhelper_test.go, every case
    ("", ""), ("abc", "abc"), ("CamelCase", "camel-case"), ("   space   separated  ", "space-separated"),
    ("__abc_def_xyz___", "abc-def-xyz"), ("--abc-dev-xyz---", "abc-dev-xyz"),
    ("a B cd-eF   x_y___z__", "a-b-cd-e-f-x-y-z"), ("ex-generic-v2", "ex-generic-v2"),
    # internal/pkg/naming/generator_test.go and the CLI fixtures
    ("my Super-BRANCH", "my-super-branch"), ("MyProductionConfig", "my-production-config"),
    ("---  row AbC---", "row-ab-c"), ("Some Data App", "some-data-app"), ("myConfig", "my-config"),
    ("new row", "new-row"), ("my config", "my-config"),
    # the example, and accents, which kbc strips
    ("ShopOrders", "shop-orders"), ("Příliš žluťoučký kůň", "prilis-zlutoucky-kun"),
])
def test_folder_names_are_kbcs(name, folder):
    assert normalize_name(name) == folder


def test_a_taken_path_gets_kbcs_suffix():
    # generator_test.go TestUniquePathSameObjectType: my-config, then my-config-001
    taken = {"writer/foo/my-config"}
    assert unique("writer/foo/my-config", taken) == "writer/foo/my-config-001"
    assert unique("writer/foo/my-config", taken | {"writer/foo/my-config-001"}) == "writer/foo/my-config-002"
    assert unique("rows/row", set(), "config-row") == "rows/row"


def test_a_new_project_is_kbc_init_shaped_and_says_it_is_not_linked(project):
    manifest = json.loads((project.root / ".keboola/manifest.json").read_text())
    assert "project" not in manifest and manifest["branches"] == [{"path": "main"}]  # no made-up ids
    assert manifest["naming"] == INIT_NAMING and manifest["templates"] == INIT_TEMPLATES
    assert manifest["version"] == 2 and manifest["allowedBranches"] == ["__main__"]
    assert '"project.id" is a required field' in problems(project.root)
    assert project.linked is None and "not linked to a Keboola project" in project.status()
    assert json.loads((project.root / "main/meta.json").read_text()) == {"name": "Main", "isDefault": True}

    link = project.link(PROJECT_ID, f"https://{API_HOST}", BRANCH_ID)
    assert (link.project_id, link.api_host, link.branch_id) == (PROJECT_ID, API_HOST, BRANCH_ID)  # https:// dropped
    manifest = json.loads((project.root / ".keboola/manifest.json").read_text())
    assert list(manifest)[:2] == ["version", "project"]
    assert manifest["project"] == {"id": PROJECT_ID, "apiHost": API_HOST}
    assert manifest["branches"] == [{"id": BRANCH_ID, "path": "main"}]
    assert problems(project.root) == []
    assert str(link) in project.status()


def test_configurations_made_before_the_link_join_the_branch(project, shop):
    project.extractors.create("ShopOrders", "shop", ["orders", "customers"])
    record = json.loads((project.root / ".keboola/manifest.json").read_text())["configurations"][0]
    assert "branchId" not in record and record["path"] == "extractor/keboola.ex-db-pgsql/shop-orders"
    assert ULID.match(record["id"]) and all(ULID.match(r["id"]) for r in record["rows"])  # as kbc makes ids
    assert [r["path"] for r in record["rows"]] == ["rows/orders", "rows/customers"]
    project.link(PROJECT_ID, API_HOST, BRANCH_ID)
    record = json.loads((project.root / ".keboola/manifest.json").read_text())["configurations"][0]
    assert list(record)[:4] == ["branchId", "componentId", "id", "path"] and record["branchId"] == BRANCH_ID
    assert problems(project.root) == []
    assert project.configs.get("ShopOrders").id == record["id"]


def test_link_refuses_what_kbc_would_and_changes_nothing(project, tmp_path):
    before = snapshot(project.root / ".keboola")
    for args, message in [((0, API_HOST, BRANCH_ID), "must be positive"),
                          ((PROJECT_ID, "not a host/", BRANCH_ID), "is not a Keboola API host"),
                          ((PROJECT_ID, API_HOST, None), "needs the project id, the API host and the branch id")]:
        with pytest.raises(kb.KeboolaError, match=message):
            project.link(*args)
    (tmp_path / "empty/.keboola").mkdir(parents=True)
    (tmp_path / "empty/.keboola/manifest.json").write_text('{"version": 2}')
    with pytest.raises(kb.KeboolaError, match="holds no linked Keboola project"):
        project.link(from_folder=tmp_path / "empty")
    assert snapshot(project.root / ".keboola") == before


@pytest.fixture
def ip(monkeypatch):
    import keboola_nb.magics as magics

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    yield shell
    magics.close_session()


def test_working_in_a_folder_kbc_pulled_through_the_magics(ip, pg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    from conftest import ETL_PASSWORD

    monkeypatch.setenv("SHOP_PG_PASSWORD", ETL_PASSWORD)
    root = kbc_pulled_folder(tmp_path / "kbc")
    before = snapshot(root)
    manifest_before = json.loads((root / ".keboola/manifest.json").read_text())

    project = ip.run_line_magic("keboola", f"open {root}")
    assert project.linked == kb.Project.open(root).linked and project.linked.project_id == PROJECT_ID
    url = f"postgresql://etl@127.0.0.1:{pg.port}/shop"
    ip.run_line_magic("keboola", f"connect shop {url} --password-env SHOP_PG_PASSWORD")
    ip.run_cell_magic("keboola", "extractor ShopOrders", "connection: shop\ntables:\n  - public.orders\n")
    job = ip.run_line_magic("keboola", "run ShopOrders")
    assert job.status == "success", job.error

    manifest = json.loads((root / ".keboola/manifest.json").read_text())
    kept = {k: v for k, v in manifest.items() if k != "configurations"}
    assert kept == {k: v for k, v in manifest_before.items() if k != "configurations"}  # project, naming, branches
    assert manifest["configurations"][:5] == manifest_before["configurations"]  # kbc's records as they were
    new = manifest["configurations"][5]
    assert (new["branchId"], new["componentId"], new["path"]) == (BRANCH_ID, "keboola.ex-db-pgsql",
                                                                 "extractor/keboola.ex-db-pgsql/shop-orders")
    assert [r["path"] for r in new["rows"]] == ["rows/orders"]
    assert problems(root) == []
    after = snapshot(root)
    changed = [p for p in before if before[p] != after.get(p)]
    assert changed == [".gitignore", ".keboola/manifest.json"]  # the manifest only by the record added above
    assert after[".gitignore"].startswith(before[".gitignore"])
    assert b"/.keboola-nb/" in after[".gitignore"]  # kbc's own lines kept, the local folder added

    # Found by meta.json name and by id, in the default branch only (branch foo has a config with id 456 too).
    listed = ip.run_line_magic("keboola", "configs")
    assert {"my config", "om-default-bucket", "im-default-bucket", "nightly", "ShopOrders"} == set(listed["name"])
    assert project.configs.get("456").name == "my config"
    assert project.configs.get("my config").configuration["parameters"]["db"]["host"] == "mysql.example.com"
    # kbc's default-bucket placeholder reads as the table it stands for.
    writer_row = project.configs.get("im-default-bucket").rows[0]
    assert writer_row.configuration["storage"]["input"]["tables"][0]["source"] == "in.c-keboola-ex-aws-s3-123.table"

    capsys.readouterr()
    vault = ip.run_line_magic("keboola", "link")
    out = capsys.readouterr().out
    assert f"linked to Keboola project {PROJECT_ID} at {API_HOST}, branch {BRANCH_ID}" in out
    assert set(vault["variable"]) == {"test_pass", "SHOP_PG_PASSWORD"}
    assert vault.set_index("variable").loc["test_pass", "here"] == "not set"
    assert ETL_PASSWORD not in out and ETL_PASSWORD not in vault.to_string()


def test_saving_a_pulled_configuration_keeps_its_folder_schedule_and_placeholders(tmp_path, monkeypatch):
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    root = kbc_pulled_folder(tmp_path / "kbc")
    project = kb.Project.open(root)
    config = project.configs.get("my config")
    config.description = "users of the shop"
    project.configs.save(config)
    folder = root / "main/extractor/keboola.ex-db-mysql/my-config"
    assert (folder / "description.md").read_text() == "users of the shop\n"
    assert (folder / "schedules/nightly/config.json").is_file()  # kbc's schedule stays inside its config
    assert (folder / "rows/users/meta.json").is_file()
    schedule = project.configs.get("nightly")
    assert schedule.configuration["schedule"]["cronTab"] == "0 1 * * *"
    schedule.configuration["schedule"]["cronTab"] = "0 2 * * *"
    schedule.name = "nightly at two"
    project.configs.save(schedule)  # kept inside its configuration, where kbc keeps schedules
    assert json.loads((folder / "schedules/nightly/config.json").read_text())["schedule"]["cronTab"] == "0 2 * * *"
    assert not (root / "main/schedules").exists()

    writer = project.configs.get("im-default-bucket")
    project.configs.save(writer)
    row_file = root / "main/writer/keboola.wr-db-mysql/im-default-bucket/rows/test/config.json"
    placeholder = "{{:default-bucket:extractor/keboola.ex-aws-s3/om-default-bucket}}.table"
    assert json.loads(row_file.read_text())["storage"]["input"]["tables"][0]["source"] == placeholder

    # A renamed configuration moves to its new folder, and the placeholders that name it follow (as in kbc).
    s3 = project.configs.get("om-default-bucket")
    s3.name = "Orders From S3"
    project.configs.save(s3)
    assert (root / "main/extractor/keboola.ex-aws-s3/orders-from-s3/meta.json").is_file()
    assert not (root / "main/extractor/keboola.ex-aws-s3/om-default-bucket").exists()
    source = json.loads(row_file.read_text())["storage"]["input"]["tables"][0]["source"]
    assert source == "{{:default-bucket:extractor/keboola.ex-aws-s3/orders-from-s3}}.table"
    assert project.configs.get("im-default-bucket").rows[0].configuration["storage"]["input"]["tables"][0][
        "source"] == "in.c-keboola-ex-aws-s3-123.table"
    assert problems(root) == []


def test_names_that_fold_to_one_folder_get_kbcs_suffix(project, shop):
    project.extractors.create("shop orders", "shop", ["orders"])
    project.extractors.create("Shop-Orders", "shop", ["customers"])
    paths = [c["path"] for c in json.loads((project.root / ".keboola/manifest.json").read_text())["configurations"]]
    assert paths == ["extractor/keboola.ex-db-pgsql/shop-orders", "extractor/keboola.ex-db-pgsql/shop-orders-001"]
    assert [r.name for r in project.configs.get("Shop-Orders").rows] == ["customers"]
    assert [r.name for r in project.configs.get("shop orders").rows] == ["orders"]


def test_a_writer_reading_another_configurations_default_bucket_is_written_as_kbc_pulls_it(tmp_path, monkeypatch, pg):
    from conftest import ETL_PASSWORD
    from keboola_nb.connectors import Scan

    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("SHOP_PG_PASSWORD", ETL_PASSWORD)
    project = kb.Project.open(kbc_pulled_folder(tmp_path / "kbc"))
    with project.storage.transaction() as loader:
        loader.load("in.c-keboola-ex-aws-s3-123.cities", Scan("SELECT range AS id, 'c' || range AS city FROM range(3)"))
    pg.execute("DROP DATABASE IF EXISTS kbc_dwh WITH (FORCE)")
    pg.execute("CREATE DATABASE kbc_dwh OWNER etl")
    project.connections.add("dwh", pg.url("kbc_dwh", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))
    project.writers.create("to-dwh", "dwh", [{"table": "in.c-keboola-ex-aws-s3-123.cities", "db_name": "kbc_cities"}])
    row_dir = project.root / "main/writer/keboola.wr-db-pgsql/to-dwh/rows"
    on_disk = json.loads(next(row_dir.glob("*/config.json")).read_text())
    assert on_disk["storage"]["input"]["tables"][0]["source"] == \
        "{{:default-bucket:extractor/keboola.ex-aws-s3/om-default-bucket}}.cities"
    assert on_disk["parameters"]["tableId"] == "in.c-keboola-ex-aws-s3-123.cities"  # only input mappings, as kbc
    job = project.run("to-dwh")
    assert job.status == "success", job.error
    assert job.rows == {"in.c-keboola-ex-aws-s3-123.cities": 3}


def test_link_from_a_kbc_checkout_with_the_command_line(project, shop, tmp_path, capsys):
    from keboola_nb import cli

    project.extractors.create("orders", "shop", ["orders"])
    assert cli.main(["--project", str(project.root), "link"]) == 0
    out = capsys.readouterr().out
    assert "not linked to a Keboola project" in out and "SHOP_PG_PASSWORD" in out
    checkout = kbc_pulled_folder(tmp_path / "kbc")
    assert cli.main(["--project", str(project.root), "link", "--from", str(checkout)]) == 0
    assert f"linked to Keboola project {PROJECT_ID} at {API_HOST}, branch {BRANCH_ID}" in capsys.readouterr().out
    assert problems(project.root) == []
    assert cli.main(["--project", str(project.root), "link", "0", API_HOST, "--branch", "5"]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert project.audit.entries()[-1]["action"] == "link"


def test_a_folder_an_earlier_version_wrote_is_upgraded_once(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets"
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(secrets))
    secrets.mkdir()
    (secrets / "wh-password-abc123").write_text("canary-old-file-secret")
    root = tmp_path / "old"
    old_path = "writer/keboola.wr-snowflake/to-wh"
    (root / ".keboola").mkdir(parents=True)
    (root / ".keboola/manifest.json").write_text(json.dumps({
        "version": 2, "project": {"id": 0, "apiHost": ""}, "naming": INIT_NAMING, "allowedBranches": ["__main__"],
        "branches": [{"id": 0, "path": "main"}],
        "configurations": [{"branchId": 0, "componentId": "keboola.wr-snowflake", "id": "111", "path": old_path,
                            "rows": []}]}))
    (root / "main").mkdir()
    (root / "main/meta.json").write_text('{"name": "Main", "isDefault": true}')
    (root / "main" / old_path).mkdir(parents=True)
    (root / "main" / old_path / "config.json").write_text(json.dumps(
        {"parameters": {"db": {"host": "h", "#password": "KBNB::file::wh-password-abc123"}}}))
    (root / "main" / old_path / "meta.json").write_text('{"name": "to-wh", "isDisabled": false}')
    (root / ".keboola/connections.json").write_text(json.dumps(
        {"connections": {"wh": {"kind": "snowflake", "db": {"host": "h", "#password": "KBNB::env::SF_PASSWORD"}}}}))

    project = kb.Project.open(root)
    manifest = json.loads((root / ".keboola/manifest.json").read_text())
    assert "project" not in manifest and manifest["branches"] == [{"path": "main"}]
    assert manifest["configurations"] == [{"componentId": "keboola.wr-db-snowflake", "id": "111",
                                           "path": "writer/keboola.wr-db-snowflake/to-wh", "rows": []}]
    config = project.configs.get("to-wh")
    assert config.component_id == "keboola.wr-db-snowflake"
    assert config.configuration["parameters"]["db"]["#password"] == "{{ vault.wh_password_abc123 }}"
    assert kb.store.secrets.resolve(config.configuration["parameters"]["db"]["#password"]) == "canary-old-file-secret"
    assert project.connections.get("wh").db["#password"] == "{{ vault.SF_PASSWORD }}"
    assert not (root / "main/writer/keboola.wr-snowflake").exists()
    before = snapshot(root)
    kb.Project.open(root)
    assert snapshot(root) == before  # once


def test_a_row_added_to_a_pulled_configuration_is_laid_out_as_kbc_local_create_row_does(tmp_path, monkeypatch):
    from keboola_nb.model.configuration import ConfigRow

    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    root = kbc_pulled_folder(tmp_path / "kbc")
    project = kb.Project.open(root)
    config = project.configs.get("my config")
    config.rows.append(ConfigRow(kb.model.configuration.new_id(), "new row", {"parameters": {"query": "SELECT 1",
                                                                                           "name": "new row"}}))
    project.configs.save(config)
    # test/cli/create/config-row: rows/new-row with meta.json {"name": "new row", "isDisabled": false} and a
    # description.md of one newline; the configuration's record gains the row, the existing row stays.
    folder = root / "main/extractor/keboola.ex-db-mysql/my-config"
    assert json.loads((folder / "rows/new-row/meta.json").read_text()) == {"name": "new row", "isDisabled": False}
    assert (folder / "rows/new-row/description.md").read_bytes() == b"\n"
    record = next(c for c in json.loads((root / ".keboola/manifest.json").read_text())["configurations"]
                  if c["branchId"] == BRANCH_ID and c["id"] == "456")
    assert record["rows"] == [{"id": "789", "path": "rows/users"}, {"id": config.rows[1].id, "path": "rows/new-row"}]
    assert problems(root) == []


def test_a_placeholder_naming_no_configuration_stays_as_kbc_keeps_it(tmp_path, monkeypatch):
    # test/cli/push/im-default-bucket-missing: kbc warns and pushes the placeholder unchanged.
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    root = kbc_pulled_folder(tmp_path / "kbc")
    row_file = root / "main/writer/keboola.wr-db-mysql/im-default-bucket/rows/test/config.json"
    missing = "{{:default-bucket:extractor/keboola.ex-aws-s3/gone}}.table"
    row_file.write_text(row_file.read_text().replace("{{:default-bucket:extractor/keboola.ex-aws-s3/om-default-bucket}}",
                                                     "{{:default-bucket:extractor/keboola.ex-aws-s3/gone}}"))
    project = kb.Project.open(root)
    assert project.configs.get("im-default-bucket").rows[0].configuration["storage"]["input"]["tables"][0][
        "source"] == missing


def test_what_kbc_keeps_is_never_lost_or_mixed(tmp_path, monkeypatch):
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    root = kbc_pulled_folder(tmp_path / "kbc")
    project = kb.Project.open(root)
    before = snapshot(root / ".keboola")
    # Linking must not give the default branch another branch's id, nor mix two Keboola projects.
    with pytest.raises(kb.KeboolaError, match="already another branch's"):
        project.link(PROJECT_ID, API_HOST, 988)
    with pytest.raises(kb.KeboolaError, match="would mix the two"):
        project.link(PROJECT_ID + 1, API_HOST, BRANCH_ID)
    assert snapshot(root / ".keboola") == before

    # A folder no record names (copied in for kbc persist) is not replaced by a new configuration's.
    untracked = root / "main/extractor/keboola.ex-aws-s3/orders"
    untracked.mkdir(parents=True)
    (untracked / "config.json").write_text("{}")
    s3 = project.configs.get("om-default-bucket")
    s3.name = "orders"
    project.configs.save(s3)
    assert (untracked / "config.json").read_text() == "{}"
    assert (root / "main/extractor/keboola.ex-aws-s3/orders-001/meta.json").is_file()

    # Keboola-encrypted values (what kbc pull brings back) are kept on save and named clearly at a run.
    mysql = project.configs.get("my config")
    mysql.configuration["parameters"]["db"]["#password"] = "KBC::ProjectSecure::abc123"
    project.configs.save(mysql)
    job = project.run("my config")
    assert job.status == "error" and "encrypted, which only Keboola can decrypt" in job.error

    # Removing a configuration removes the records of the schedule that lived inside it.
    project.configs.delete("my config")
    assert problems(root) == []
    assert "nightly" not in {c.name for c in project.configs.list()}


def test_a_name_two_components_share_is_found_by_id(tmp_path, monkeypatch):
    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    root = kbc_pulled_folder(tmp_path / "kbc")
    meta = root / "main/writer/keboola.wr-db-mysql/im-default-bucket/meta.json"
    meta.write_text(json.dumps({"name": "my config", "isDisabled": False}))  # as in kbc's rename-no-conflict
    project = kb.Project.open(root)
    with pytest.raises(kb.KeboolaError, match="2 configurations are named 'my config': 456 .*, 124 "):
        project.configs.get("my config")
    assert project.configs.get("124").component_id == "keboola.wr-db-mysql"
    writer = project.configs.get("124")
    project.configs.save(writer)  # its pulled name is kept, though another component's configuration has it
    assert json.loads(meta.read_text())["name"] == "my config"


def test_a_configuration_whose_folder_is_gone_is_named_not_read_as_empty(tmp_path, monkeypatch):
    import shutil
    import warnings

    monkeypatch.setenv("KEBOOLA_NB_SECRETS_DIR", str(tmp_path / "secrets"))
    root = kbc_pulled_folder(tmp_path / "kbc")
    shutil.rmtree(root / "main/extractor/keboola.ex-aws-s3/om-default-bucket")
    project = kb.Project.open(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = {c.name for c in project.configs.list()}
    assert "om-default-bucket" not in names and "my config" in names
    assert any("extractor/keboola.ex-aws-s3/om-default-bucket is missing" in str(w.message) for w in caught)
    with pytest.raises(kb.KeboolaError, match="is missing"):
        project.configs.get("123")
