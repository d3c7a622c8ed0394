"""Transformations in the kbc layout: code in blocks/NNN-block/NNN-code/code.<ext> with meta.json files, as
keboola-as-code writes them (its `test/cli/diff/with-details` fixture: a Snowflake transformation's code file holds
one statement per script separated by blank lines; a Python transformation's holds its one script)."""

from __future__ import annotations

import json
from pathlib import Path

from kbc import BRANCH_ID, kbc_pulled_folder, problems, snapshot

import keboola_nb as kb

SNOWFLAKE_CODE = """CREATE OR REPLACE TABLE "test" (
  "id" number default null,
  "note" varchar(100) default null
);

INSERT INTO "test" ("id", "note") VALUES(1, 'a;b');

-- keep the comment with its statement
DROP TABLE IF EXISTS "test";
"""
SECOND_CODE = """CREATE TABLE "out_orders" AS SELECT $1, $2
FROM VALUES( 1, 'two' ), ( 3, 'four' );
"""
PYTHON_CODE = """import pandas as pd

df = pd.read_csv("in/tables/orders.csv")
df.to_csv("out/tables/clean.csv", index=False)
"""


def _json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def _transformation(folder: Path, config: dict, blocks: dict, code_file: str) -> None:
    """A transformation's folder as kbc pulls it: blocks {folder: (name, {code folder: (name, code)})}."""
    _json(folder / "config.json", config)
    _json(folder / "meta.json", {"name": folder.name, "isDisabled": False})
    (folder / "description.md").write_text("\n")
    (folder / "blocks").mkdir(parents=True)
    (folder / "blocks/.gitkeep").write_text("")
    for block_dir, (block_name, codes) in blocks.items():
        _json(folder / "blocks" / block_dir / "meta.json", {"name": block_name})
        for code_dir, (code_name, code) in codes.items():
            _json(folder / "blocks" / block_dir / code_dir / "meta.json", {"name": code_name})
            (folder / "blocks" / block_dir / code_dir / code_file).write_text(code)


def pulled_with_transformations(root: Path) -> Path:
    kbc_pulled_folder(root)
    manifest = json.loads((root / ".keboola/manifest.json").read_text())
    manifest["configurations"] += [
        {"branchId": BRANCH_ID, "componentId": "keboola.snowflake-transformation", "id": "701",
         "path": "transformation/keboola.snowflake-transformation/snowflake-transformation", "rows": []},
        {"branchId": BRANCH_ID, "componentId": "keboola.python-transformation-v2", "id": "702",
         "path": "transformation/keboola.python-transformation-v2/python-transformation", "rows": []},
        {"branchId": BRANCH_ID, "componentId": "keboola.variables", "id": "703", "path": "variables",
         "relations": [{"componentId": "keboola.python-transformation-v2", "configId": "702",
                        "type": "variablesFor"}],
         "rows": [{"id": "704", "path": "values/default", "relations": [{"type": "variablesValuesFor"}]},
                  {"id": "705", "path": "values/other"}]},
    ]
    _json(root / ".keboola/manifest.json", manifest)
    variables = root / "main/transformation/keboola.python-transformation-v2/python-transformation/variables"
    _json(variables / "config.json", {"variables": [{"name": "limit", "type": "string"}]})
    _json(variables / "meta.json", {"name": "Python Transformation Variables", "isDisabled": False})
    (variables / "description.md").write_text("\n")
    for row, value in (("default", "10"), ("other", "99")):
        _json(variables / "values" / row / "config.json", {"values": [{"name": "limit", "value": value}]})
        _json(variables / "values" / row / "meta.json", {"name": row, "isDisabled": False})
        (variables / "values" / row / "description.md").write_text("\n")
    _transformation(root / "main/transformation/keboola.snowflake-transformation/snowflake-transformation",
                    {"parameters": {}, "storage": {"input": {"tables": []}, "output": {"tables": []}}}, {
                        "001-block": ("Block 1", {"001-code-x": ("Code X", SNOWFLAKE_CODE)}),
                        "002-block": ("Block 2", {"001-code-y": ("Code Y", SECOND_CODE)})}, "code.sql")
    _transformation(root / "main/transformation/keboola.python-transformation-v2/python-transformation",
                    {"parameters": {"packages": ["faker"]}, "storage": {
                        "input": {"tables": [{"source": "in.c-shop.orders", "destination": "orders.csv"}]},
                        "output": {"tables": [{"source": "clean.csv", "destination": "out.c-shop.clean"}]}}},
                    {"001-block": ("Block 1", {"001-load": ("Load", PYTHON_CODE)})}, "code.py")
    return root


def test_blocks_are_read_as_kbc_lays_them_out(tmp_path):
    root = pulled_with_transformations(tmp_path / "p")
    project = kb.Project.open(root)
    snowflake = project.configs.get("snowflake-transformation")
    blocks = snowflake.configuration["parameters"]["blocks"]
    assert [b["name"] for b in blocks] == ["Block 1", "Block 2"]
    assert [c["name"] for c in blocks[0]["codes"]] == ["Code X"]
    scripts = blocks[0]["codes"][0]["script"]
    assert len(scripts) == 3
    assert scripts[1] == "INSERT INTO \"test\" (\"id\", \"note\") VALUES(1, 'a;b');"
    assert scripts[2].startswith("-- keep the comment") and scripts[2].endswith('DROP TABLE IF EXISTS "test";')
    python = project.configs.get("python-transformation")
    assert python.configuration["parameters"] == {
        "packages": ["faker"], "blocks": [{"name": "Block 1", "codes": [{"name": "Load",
                                                                         "script": [PYTHON_CODE.rstrip()]}]}]}


def test_a_pulled_transformation_takes_its_values_from_the_row_kbc_marks(tmp_path):
    project = kb.Project.open(pulled_with_transformations(tmp_path / "p"))
    assert project.configs.variable_values(project.configs.get("python-transformation")) == {"limit": "10"}
    assert project.configs.variable_values(project.configs.get("snowflake-transformation")) == {}


def test_saving_a_pulled_transformation_unchanged_keeps_every_file(tmp_path):
    root = pulled_with_transformations(tmp_path / "p")
    project = kb.Project.open(root)
    before = snapshot(root / "main")
    for name in ("snowflake-transformation", "python-transformation", "Python Transformation Variables"):
        project.configs.save(project.configs.get(name))
    assert snapshot(root / "main") == before
    assert problems(root) == []


def test_a_renamed_code_moves_its_folder_and_nothing_stale_stays(tmp_path):
    root = pulled_with_transformations(tmp_path / "p")
    project = kb.Project.open(root)
    config = project.configs.get("snowflake-transformation")
    blocks = config.configuration["parameters"]["blocks"]
    blocks[0]["codes"][0]["name"] = "Make test"
    del blocks[1]
    project.configs.save(config)
    folder = root / "main/transformation/keboola.snowflake-transformation/snowflake-transformation/blocks"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        ".gitkeep", "001-block/001-make-test/code.sql", "001-block/001-make-test/meta.json", "001-block/meta.json"]
    assert project.configs.get("snowflake-transformation").configuration["parameters"]["blocks"] == blocks
