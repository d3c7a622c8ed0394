"""The assistant in a real JupyterLab: `%keboola chat` opens the panel in the sidebar, a scripted conversation
streams from the stand-in API (through the real SDK in the kernel), Create on the config card saves the
extractor, and generated code lands in a new notebook cell."""

from __future__ import annotations

import json

import pytest

from conftest import ETL_PASSWORD, scan_for_canaries
from standin import StandIn, Text, ToolUse, Turn

from .lab import Chat

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def api():  # type: ignore[no-untyped-def]
    with StandIn() as server:
        yield server


@pytest.fixture
def assistant_lab(api, pg, lab_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    import keboola_nb as kb

    base = tmp_path_factory.mktemp("assistant")
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": api.base_url,
           "KEBOOLA_NB_PROJECT": str(base / "project"), "KEBOOLA_NB_SECRETS_DIR": str(base / "secrets"),
           "SHOP_PG_PASSWORD": ETL_PASSWORD}
    project = kb.Project.open(env["KEBOOLA_NB_PROJECT"])
    project.connections.add("shop", pg.url("shop", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))
    return lab_factory(env), project


def test_chat_creates_an_extractor_and_writes_code_into_a_cell(assistant_lab, api, open_notebook):
    lab, project = assistant_lab
    tables = ToolUse("list_tables", {"connection": "shop"})
    create = ToolUse("create_extractor", {"name": "shop-customers", "connection": "shop",
                                          "tables": [{"table": "public.customers"}]})
    api.push(
        Turn([Text("Let me look at the **shop** database first."), tables], delay=0.02),
        Turn([Text("`public.customers` holds your customers. Here is the extractor:"), create]),
        Turn([Text("Created **shop-customers**. Shall I run it?")]),
    )
    nb = open_notebook(["%load_ext keboola_nb\n%keboola chat", "1 + 1"], lab=lab)
    nb.run_cell(0)
    chat = Chat(nb.page)
    chat.root.wait_for()
    assert "right sidebar" in nb.cell_outputs_text(0)

    chat.send("I need to extract customer data from our PostgreSQL database")
    first = chat.item("assistant").first
    first.locator("strong", has_text="shop").wait_for()
    chat.item("tool", status="ok").first.wait_for()
    assert chat.item("tool").first.get_attribute("data-status") == "ok"

    card = chat.item("confirm", status="pending")
    card.wait_for(timeout=30_000)
    assert "Create extractor shop-customers" in card.inner_text()
    assert project.configs.find("shop-customers") is None, "nothing is saved before Create"
    card.locator(".kbnb-confirm-accept").click()
    chat.item("assistant").filter(has_text="Shall I run it?").wait_for(timeout=30_000)
    chat.wait_idle()
    config = project.configs.get("shop-customers")
    assert config.rows[0].configuration["parameters"]["outputTable"] == "in.c-shop-customers.customers"
    audit = (project.local / "audit.jsonl").read_text()
    assert '"actor": "assistant"' in audit or '"actor":"assistant"' in audit

    sql = "SELECT count(*) AS customers FROM in.c-shop-customers.customers"
    api.push(Turn([ToolUse("write_code_cell", {"code": sql, "language": "sql"})]),
             Turn([Text("The new cell counts the customers in storage.")]))
    chat.send("write a query that counts the customers in storage")
    chat.item("code").wait_for()
    nb.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.length === 3")
    assert nb.cell_sources()[1] == f"%%keboola query\n{sql}"
    chat.item("code").locator(".kbnb-inserted").wait_for()

    sent = json.dumps(api.requests)
    assert ETL_PASSWORD not in sent and not scan_for_canaries(project.root)
    assert len(nb.page.evaluate("() => window.keboolaNbLatency")) > 3


REVENUE = """-- revenue per day, and the latest day's drop against the day before
CREATE TABLE daily_revenue AS
SELECT CAST(updated_at AS DATE) AS day, sum(amount) AS revenue FROM orders GROUP BY 1;
CREATE TABLE latest_change AS
SELECT day, CAST(1 - revenue / lag(revenue) OVER (ORDER BY day) AS DOUBLE) AS revenue_drop
FROM daily_revenue ORDER BY day DESC LIMIT 1"""


def test_chat_proposes_a_pipeline_as_a_graph_and_creates_it_on_one_confirmation(assistant_lab, api, open_notebook):
    lab, project = assistant_lab
    create = ToolUse("create_flow", {
        "name": "daily-revenue", "schedule": "0 1 * * *",
        "new": [{"tool": "create_extractor", "arguments": {"name": "shop-orders", "connection": "shop",
                                                           "tables": [{"table": "public.orders"}]}},
                {"tool": "create_transformation", "arguments": {
                    "language": "sql", "name": "daily_revenue", "code": REVENUE,
                    "inputs": ["in.c-shop-orders.orders AS orders"],
                    "outputs": ["daily_revenue AS out.c-revenue.daily_revenue",
                                "latest_change AS out.c-revenue.latest_change"]}}],
        "phases": [{"extract": ["shop-orders"]}, {"transform": ["daily_revenue"]}],
        "notify": [{"when": "daily_revenue.revenue_drop > 0.1", "email": "team@example.com"}]})
    api.push(Turn([Text("Here is the pipeline:"), create]), Turn([Text("Created **daily-revenue**.")]))
    nb = open_notebook(["%load_ext keboola_nb\n%keboola chat"], lab=lab)
    nb.run_cell(0)
    chat = Chat(nb.page)
    chat.root.wait_for()
    chat.send("I need a daily pipeline of revenue from the shop's orders; email me if revenue drops more than 10%")

    card = chat.item("confirm", status="pending")
    card.wait_for(timeout=60_000)
    text = card.inner_text()
    assert "Create flow daily-revenue and 3 configuration(s)" in text
    assert "extractor shop-orders, transformation daily_revenue, transformation daily-revenue-check" in text
    card.locator('.kbnb-tab[data-tab="graph"]').click()
    picture = card.locator(".kbnb-picture svg")
    picture.wait_for()
    kinds = [picture.locator(".kbnb-task").nth(i).get_attribute("data-kind")
             for i in range(picture.locator(".kbnb-task").count())]
    assert kinds == ["extractor", "transformation", "transformation", "notification"]
    assert project.configs.list() == [], "nothing is saved before Create"

    card.locator(".kbnb-confirm-accept").click()
    chat.item("assistant").filter(has_text="Created").wait_for(timeout=30_000)
    chat.wait_idle()
    names = {c.name for c in project.configs.list()}
    assert {"shop-orders", "daily_revenue", "daily-revenue-check", "daily-revenue"} <= names
    assert project.flows.schedules("daily-revenue")[0].cron == "0 1 * * *"
    assert project.storage.tables().empty, "the rehearsal never touched the project's storage"
