"""The component registry: every built-in component is found through its entry point and keeps the protocol;
the core and the faces ask the registry and never name a component or a kind of connection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import keboola_nb as kb
from keboola_nb import components, connectors
from keboola_nb.components.component import Component

PACKAGE = Path(kb.__file__).parent
BUILT_IN = {
    "keboola.ex-db-pgsql": ("extractor", "postgresql"), "keboola.ex-db-mysql": ("extractor", "mysql"),
    "keboola.ex-db-snowflake": ("extractor", "snowflake"), "keboola.ex-aws-s3": ("extractor", "s3"),
    "keboola.ex-google-bigquery-v2": ("extractor", "bigquery"), "keboola.wr-db-pgsql": ("writer", "postgresql"),
    "keboola.wr-db-mysql": ("writer", "mysql"), "keboola.wr-db-snowflake": ("writer", "snowflake"),
    "keboola.wr-aws-s3": ("writer", "s3"), "keboola.wr-google-bigquery-v2": ("writer", "bigquery"),
}


def test_every_built_in_component_is_registered_through_its_entry_point():
    assert set(BUILT_IN) <= set(components.ids())
    for component_id, (type_, kind) in BUILT_IN.items():
        component = components.get(component_id)
        assert isinstance(component, Component) and component.id == component_id
        assert (component.type, component.connection_kind) == (type_, kind)
        assert component.help.get("rules") and component.help.get("example"), component_id
        assert components.for_connection(type_, kind) is component
    assert set(connectors.kinds()) >= {"postgresql", "mysql", "snowflake", "s3", "bigquery"}


def test_unknown_components_and_kinds_are_one_clear_error():
    with pytest.raises(kb.KeboolaError, match="component 'keboola.ex-nope' is not supported") as error:
        components.get("keboola.ex-nope")
    assert "keboola.ex-db-pgsql" in (error.value.fix or "")
    with pytest.raises(kb.KeboolaError, match="connection kind 'oracle' is not supported"):
        connectors.kind("oracle")
    with pytest.raises(kb.KeboolaError, match="no writer for connections of kind 'nope'"):
        components.for_connection("writer", "nope")
    with pytest.raises(kb.KeboolaError, match="cannot tell the kind of connection"):
        connectors.parse_connection_url("oracle://scott@db/orcl")


def test_a_configuration_of_an_unregistered_component_fails_clearly(project):
    from keboola_nb.model.configuration import ConfigRow, Configuration

    config = Configuration("vendor.ex-gone", "123456789", "gone", {"parameters": {}}, [ConfigRow("1", "r", {})])
    with pytest.raises(kb.KeboolaError, match="component 'vendor.ex-gone' is not supported"):
        project.run(config)


def test_component_help_comes_from_the_component(project):
    from keboola_nb.ai import tools
    from keboola_nb.ai.context import ToolContext

    ctx = ToolContext(project, view=None, conversations=project.conversations, conversation_id="c")  # type: ignore[arg-type]
    for component_id in BUILT_IN:
        help_ = tools.component_help(ctx, component=component_id)
        assert help_["component"] == component_id and help_["rules"] == components.get(component_id).help["rules"]
    with pytest.raises(kb.KeboolaError, match="not supported"):
        tools.component_help(ctx, component="vendor.ex-gone")
    listed = {c["component"]: c for c in tools.component_help(ctx)}
    assert set(BUILT_IN) <= set(listed)
    assert listed["keboola.wr-aws-s3"] == {"component": "keboola.wr-aws-s3", "type": "writer", "label": "AWS S3 writer",
                                           "connection_kind": "s3"}


# What names a component or a kind of connection: its id, or a comparison with a kind's name.
_KINDS = "postgresql|mysql|snowflake|s3|bigquery"
_NAMING = re.compile(rf"""keboola\.(ex|wr)-|[!=]=\s*["']({_KINDS})["']|\bin \(?["']({_KINDS})["']""")


def test_only_components_and_connectors_name_a_component_or_a_kind():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0]
        if part in ("components", "connectors"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if _NAMING.search(code) and "e.g." not in code:  # an example in a tool's description is text
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_core_imports_downwards_only():
    """project.py, builder.py and engine/ never import a face (magics, ui, cli; ai only for the conversation
    store, opened on first use); engine/ never imports the components or the project."""
    def imports(path: Path) -> set[str]:
        text = path.read_text(encoding="utf-8")
        return set(re.findall(r"^\s*from \.+([\w.]*) import", text, re.M))

    for path in [PACKAGE / "project.py", PACKAGE / "builder.py", *(PACKAGE / "engine").glob("*.py")]:
        found = {name.split(".")[0] for name in imports(path)}
        assert not found & {"magics", "ui", "cli"}, path
        assert {n for n in imports(path) if n.startswith("ai")} <= {"ai.conversations"}, path
    for path in (PACKAGE / "engine").glob("*.py"):
        assert not {n for n in imports(path) if n.startswith("components") or n == "project"}, path


def test_a_name_two_packages_register_differently_is_refused(monkeypatch):
    import importlib.metadata

    from keboola_nb.plugins import Registry

    twice = [importlib.metadata.EntryPoint("vendor.ex-x", "vendor_a:X", "keboola_nb.components"),
             importlib.metadata.EntryPoint("vendor.ex-x", "vendor_b:X", "keboola_nb.components")]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: twice)
    with pytest.raises(kb.KeboolaError, match="two installed packages register the component 'vendor.ex-x'"):
        Registry("keboola_nb.components", "component").get("vendor.ex-x")


def test_connections_of_a_kind_not_installed_here_still_list_and_remove(project):
    """A teammate's project may hold a connection of a plug-in kind this machine lacks."""
    path = project.root / ".keboola" / "connections.json"
    path.write_text('{"connections": {"files": {"kind": "csvfolder", "folder": {"path": "/data"}}}}')
    listed = project.connections.list()
    assert list(listed["name"]) == ["files"] and "not installed here" in listed["target"][0]
    with pytest.raises(kb.KeboolaError, match="connection kind 'csvfolder' is not supported"):
        project.connections.get("files").test()
    project.connections.remove("files")
    assert project.connections.names() == []


def test_a_kind_describes_its_target_for_the_card_a_person_confirms():
    s3 = connectors.kind("s3")
    assert s3.describe({"bucket": "b", "prefix": "in/"}, {}) == "s3://b/in/ (the kernel's AWS credential chain)"
    keyed = s3.describe({"bucket": "b", "prefix": ""}, {"access_key": "{{ vault.AK }}"})
    assert keyed == "s3://b/ (access key {{ vault.AK }})"
    postgres = connectors.kind("postgresql")
    node, _ = postgres.parse_url("postgresql://etl@db:5433/shop")
    assert postgres.describe(node, {}) == "postgresql://etl@db:5433/shop"
