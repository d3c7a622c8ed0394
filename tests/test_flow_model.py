"""The flow model: Keboola's keboola.flow JSON read and written back unchanged, legacy keboola.orchestrator read
into the same model, the checks, condition evaluation, and the `%%keboola flow` shorthand."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

import keboola_nb as kb
from keboola_nb.components import flow as flows
from keboola_nb.components.flow import checks, conditions, model, shorthand
from keboola_nb.components.flow.conditions import Context
from keboola_nb.model.configuration import Configuration
from keboola_nb.model.schedule import Schedule

# A conditional flow as Keboola's UI writes it (tasks first, its key order), with a phase retry, a task retry with
# retryOn, a delay, a variable override, conditions (OR, EQUALS, ALL_TASKS_IN_PHASE over '*', a variable) and a
# notification and a variable task.
KEBOOLA_FLOW = {
    "tasks": [
        {"id": "ex-pg", "name": "keboola.ex-db-pgsql-123", "phase": "extract",
         "task": {"type": "job", "mode": "run", "componentId": "keboola.ex-db-pgsql", "configId": "123"},
         "enabled": True},
        {"id": "ex-s3", "name": "keboola.ex-aws-s3-124", "phase": "extract",
         "task": {"type": "job", "mode": "run", "componentId": "keboola.ex-aws-s3", "configId": "124", "delay": 30},
         "enabled": False},
        {"id": "tr", "name": "Revenue SQL", "phase": "transform",
         "task": {"type": "job", "mode": "run", "componentId": "keboola.snowflake-transformation", "configId": "456",
                  "retry": {"retryOn": [{"type": "errorMessageContains", "value": "timeout"}],
                            "strategy": "linear", "strategyParams": {"maxRetries": 2, "delay": 15}},
                  "variableValuesData": {"values": [{"name": "multiplier", "value": "1000"}]}},
         "enabled": True},
        {"id": "count", "name": "Count tables", "phase": "transform",
         "task": {"type": "variable", "name": "tables",
                  "source": {"type": "function", "function": "COUNT",
                             "operands": [{"type": "task", "task": "tr", "value": "job.result.output.tables"}]}},
         "enabled": True},
        {"id": "mail", "name": "Alert", "phase": "Error",
         "task": {"type": "notification", "title": "Revenue flow failed", "message": "Check the job logs",
                  "recipients": [{"channel": "email", "address": "data@example.com"},
                                 {"channel": "webhook", "address": "https://hooks.example.com/flow"}]},
         "enabled": True},
    ],
    "phases": [
        {"id": "extract", "name": "Extract",
         "next": [{"id": "e1", "name": "Extract failed",
                   "condition": {"type": "operator", "operator": "ALL_TASKS_IN_PHASE", "phase": "extract",
                                 "operands": [{"type": "operator", "operator": "NOT_EQUALS",
                                               "operands": [{"type": "task", "task": "*", "value": "status"},
                                                            {"type": "const", "value": "success"}]}]},
                   "goto": "Error"},
                  {"id": "e2", "goto": "transform"}]},
        {"id": "transform", "name": "Transform", "description": "Daily revenue",
         "retry": {"strategy": "linear", "strategyParams": {"maxRetries": 3, "delay": 10}},
         "next": [{"id": "t1", "name": "Condition1",
                   "condition": {"type": "operator", "operator": "OR", "operands": [
                       {"type": "operator", "operator": "EQUALS",
                        "operands": [{"type": "phase", "phase": "transform", "value": "status"},
                                     {"type": "const", "value": "user_error"}]},
                       {"type": "operator", "operator": "EQUALS",
                        "operands": [{"type": "phase", "phase": "transform", "value": "status"},
                                     {"type": "const", "value": "application_error"}]},
                       {"type": "operator", "operator": "GREATER_THAN",
                        "operands": [{"type": "variable", "value": "tables"}, {"type": "const", "value": 10}]}]},
                   "goto": "Error"},
                  {"id": "t2", "goto": None}]},
        {"id": "Error", "name": "Error"},
    ],
}

LEGACY = {
    "phases": [
        {"id": 1, "name": "Extract", "dependsOn": []},
        {"id": 2, "name": "Transform", "dependsOn": [1], "description": "markdown ok"},
        {"id": 3, "name": "Load", "dependsOn": [2]},
    ],
    "tasks": [
        {"id": 11, "name": "keboola.ex-db-pgsql-123", "phase": 1,
         "task": {"componentId": "keboola.ex-db-pgsql", "configId": "123", "mode": "run"},
         "continueOnFailure": True, "enabled": True},
        {"id": 21, "name": "keboola.snowflake-transformation-456", "phase": 2,
         "task": {"componentId": "keboola.snowflake-transformation", "configId": "456", "mode": "run",
                  "configRowIds": []},
         "continueOnFailure": False, "enabled": True},
        {"id": 31, "name": "keboola.wr-db-pgsql-789", "phase": 3,
         "task": {"componentId": "keboola.wr-db-pgsql", "configId": "789", "mode": "run"},
         "continueOnFailure": False, "enabled": False},
    ],
}


def dumped(data):
    return json.dumps(data, indent=2, ensure_ascii=False)


# the model ---------------------------------------------------------------------------------------------------
def test_a_keboola_flow_round_trips_byte_for_byte():
    flow = model.from_flow_json(copy.deepcopy(KEBOOLA_FLOW))
    assert dumped(model.to_flow_json(flow)) == dumped(KEBOOLA_FLOW)
    tr = next(t for t in flow.tasks if t.id == "tr")
    assert (tr.job.component_id, tr.job.config_id, tr.job.variable_overrides) == \
        ("keboola.snowflake-transformation", "456", {"multiplier": "1000"})
    assert (tr.job.retry.max_retries, tr.job.retry.delay_s, tr.job.retry.retry_on) == \
        (2, 15, [("errorMessageContains", "timeout")])
    assert flow.phase("transform").retry.max_retries == 3
    mail = next(t for t in flow.tasks if t.kind == "notification")
    assert [(r.channel, r.address) for r in mail.notification.recipients] == \
        [("email", "data@example.com"), ("webhook", "https://hooks.example.com/flow")]
    assert next(t for t in flow.tasks if t.id == "ex-s3").enabled is False
    assert isinstance(flow.phase("transform").next[0].condition, conditions.Operator)


def test_keys_keboola_adds_later_are_kept_and_a_changed_flow_is_written_in_keboola_shape():
    data = copy.deepcopy(KEBOOLA_FLOW)
    data["phases"][0]["color"] = "blue"
    data["tasks"][0]["task"]["tag"] = "1.2.3"
    flow = model.from_flow_json(data)
    flow.tasks[0].enabled = False
    out = model.to_flow_json(flow)
    assert out["phases"][0]["color"] == "blue" and out["tasks"][0]["task"]["tag"] == "1.2.3"
    assert out["tasks"][0]["enabled"] is False
    built = model.Flow(phases=[model.Phase(id="a", name="A")], tasks=[model.Task(
        id="t", name="T", phase="a", kind="job", job=model.JobTask(component_id="x.y", config_id="1",
                                                                   retry=model.Retry()))])
    built.phases[0].next = [model.Transition(id="end", goto=None)]
    assert dumped(model.to_flow_json(built)) == dumped({  # a flow built here is written in Keboola's key order
        "phases": [{"id": "a", "name": "A", "next": [{"id": "end", "goto": None}]}],
        "tasks": [{"id": "t", "name": "T", "phase": "a",
                   "task": {"type": "job", "componentId": "x.y", "configId": "1", "mode": "run",
                            "retry": {"strategy": "linear", "strategyParams": {"maxRetries": 3, "delay": 10}}},
                   "enabled": True}]})


def test_the_other_notification_shape_in_keboola_examples_is_read():
    data = {"phases": [{"id": "n", "name": "N"}], "tasks": [{"id": "x", "name": "X", "phase": "n", "task": {
        "type": "notification", "title": "Done", "channel": {"type": "webhook", "recipients": ["https://a.example"]}}}]}
    note = model.from_flow_json(data).tasks[0].notification
    assert [(r.channel, r.address) for r in note.recipients] == [("webhook", "https://a.example")]


def test_a_legacy_orchestrator_reads_into_the_same_model():
    flow = model.from_orchestrator_json(copy.deepcopy(LEGACY))
    assert flow.phase_ids == ["1", "2", "3"]
    assert [(t.source, t.target, t.conditional) for t in model.edges(flow)] == [("1", "2", False), ("2", "3", False)]
    assert model.order(flow) == ["1", "2", "3"]
    assert [t.id for t in flow.tasks] == ["11", "21", "31"] and [t.phase for t in flow.tasks] == ["1", "2", "3"]
    assert [t.job.continue_on_failure for t in flow.tasks] == [True, False, False]
    assert flow.tasks[1].job.config_row_ids == [] and flow.tasks[2].enabled is False
    assert flow.phase("2").description == "markdown ok"
    checks.check(flow)  # a valid flow
    assert dumped(model.to_orchestrator_json(flow)) == dumped(LEGACY)  # written back as it was


def test_legacy_phases_run_after_what_they_depend_on_even_when_listed_first():
    legacy = {"phases": [{"id": 2, "name": "Load", "dependsOn": [1]}, {"id": 1, "name": "Extract", "dependsOn": []}],
              "tasks": []}
    assert model.order(model.from_orchestrator_json(legacy)) == ["1", "2"]
    legacy["phases"][1]["dependsOn"] = [2]
    with pytest.raises(kb.KeboolaError, match="depend on each other in a circle"):
        model.from_orchestrator_json(legacy)


def test_order_follows_default_transitions_only():
    flow = model.from_flow_json(copy.deepcopy(KEBOOLA_FLOW))
    assert model.order(flow) == ["extract", "transform"]  # Error is reached only by conditions
    assert ("extract", "Error", "e1", True) in model.edges(flow)


def test_a_flow_json_that_is_not_a_flow_is_refused_clearly():
    with pytest.raises(kb.KeboolaError, match="task 'x' has type 'email'"):
        model.from_flow_json({"phases": [], "tasks": [{"id": "x", "name": "X", "phase": "p",
                                                      "task": {"type": "email"}}]})
    with pytest.raises(kb.KeboolaError, match="phase 1 has no 'id'"):
        model.from_flow_json({"phases": [{"name": "no id"}], "tasks": []})


# checks -------------------------------------------------------------------------------------------------------
def problem_flow() -> model.Flow:
    data = {
        "phases": [
            {"id": "a", "name": "A", "next": [
                {"id": "to-b", "goto": "b"},
                {"id": "late", "condition": {"type": "const", "value": True}, "goto": "b"}]},
            {"id": "b", "name": "B", "next": [
                {"id": "bad", "condition": {"type": "operator", "operator": "EQUALS", "operands": [
                    {"type": "task", "task": "ghost", "value": "status"}, {"type": "const", "value": "success"}]},
                 "goto": "c"},
                {"id": "odd", "condition": {"type": "operator", "operator": "MAYBE", "operands": []}, "goto": "c"},
                {"id": "nowhere", "condition": {"type": "phase", "phase": "zz", "value": "status"}, "goto": "nope"},
                {"id": "back", "goto": "a"}]},
            {"id": "c", "name": "C"},
            {"id": "island", "name": "Island"},
            {"id": "a", "name": "A again"},
        ],
        "tasks": [
            {"id": "j", "name": "J", "phase": "a", "task": {"type": "job", "componentId": "keboola.ex-x",
                                                            "configId": "404", "mode": "run"}},
            {"id": "j", "name": "J2", "phase": "ghost-phase", "task": {"type": "job", "componentId": "keboola.ex-x",
                                                                       "configId": "1", "mode": "run"}},
            {"id": "n0", "name": "N0", "phase": "c", "task": {"type": "notification", "title": "t", "recipients": []}},
            {"id": "n1", "name": "N1", "phase": "c", "task": {"type": "notification", "title": "t", "recipients": [
                {"channel": "email", "address": "not-an-email"}, {"channel": "webhook", "address": "ftp://x"}]}},
        ],
    }
    return model.from_flow_json(data)


def test_every_problem_of_a_flow_is_named_in_one_error():
    with pytest.raises(kb.KeboolaError) as error:
        checks.check(problem_flow(), lambda component_id, config_id: config_id != "404", name="flow 'daily'")
    text = str(error.value)
    expected = [
        "two or more phases have the id 'a'",
        "two or more tasks have the id 'j'",
        "task 'j' is in phase 'ghost-phase', which the flow does not have",
        "transition 'nowhere' of phase 'b' goes to phase 'nope', which the flow does not have",
        "transition(s) 'late' come after the default transition 'to-b'",
        "phase 'island' is never reached",
        "phases a -> b -> a loop through default transitions",
        "a transition back to an earlier phase needs a condition",
        "task 'j' runs configuration '404' of keboola.ex-x, which is not in this project",
        "task 'n0' is a notification without recipients",
        "task 'n1': 'not-an-email' is not an email address",
        "task 'n1': 'ftp://x' is not a webhook URL",
        "the condition of transition 'bad' of phase 'b' looks at task 'ghost', which the flow does not have",
        "the condition of transition 'nowhere' of phase 'b' looks at phase 'zz'",
        "the condition of transition 'odd' of phase 'b' is malformed: ",
        "operator 'MAYBE' is not one of AND, OR",
    ]
    missing = [e for e in expected if e not in text]
    assert missing == [], text
    assert text.startswith("flow 'daily' has ") and error.value.fix


def test_a_loop_back_guarded_by_a_condition_is_allowed():
    flow = model.from_flow_json({"phases": [
        {"id": "a", "name": "A", "next": [{"id": "x", "goto": "b"}]},
        {"id": "b", "name": "B", "next": [
            {"id": "again", "condition": {"type": "operator", "operator": "LESS_THAN", "operands": [
                {"type": "variable", "value": "n"}, {"type": "const", "value": 3}]}, "goto": "a"},
            {"id": "end", "goto": None}]}], "tasks": []})
    assert checks.problems(flow) == []


@pytest.mark.parametrize("condition, problem", [
    ({"type": "operator", "operator": "EQUALS", "operands": [{"type": "const", "value": 1}]}, "takes 2 operand(s)"),
    ({"type": "phase", "phase": "a", "value": "duration"}, "asks for 'status'"),
    ({"type": "task", "task": "t", "value": "whatever"}, "'status' or a path into its job"),
    ({"type": "function", "function": "SUM", "operands": []}, "function 'SUM' is not one of COUNT, DATE"),
    ({"type": "operator", "operator": "ANY_TASKS_IN_PHASE", "operands": []}, "has no 'phase'"),
    ({"type": "oops"}, "type 'oops'"),
    ("success", "must be an object"),
])
def test_a_malformed_condition_is_named(condition, problem):
    parsed = conditions.parse(condition, "the condition")
    assert isinstance(parsed, conditions.Malformed) and problem in parsed.problem
    assert conditions.to_json(parsed) == condition  # kept as it was
    with pytest.raises(kb.KeboolaError, match="malformed"):
        conditions.evaluate(parsed, Context())


# conditions ---------------------------------------------------------------------------------------------------
def context() -> Context:
    return Context(
        task_status={"ex": "success", "ex2": "user_error", "tr": "success"},
        task_jobs={"tr": {"status": "success", "durationSeconds": 42,
                          "result": {"message": "done in time", "output": {"tables": [{"id": "a"}, {"id": "b"}]}}}},
        phase_status={"extract": "user_error", "transform": "success"},
        phase_tasks={"extract": ["ex", "ex2"], "transform": ["tr"]},
        variables={"limit": "10", "regions": ["eu", "us"]},
        now=datetime(2024, 2, 29, 13, 5, 9, tzinfo=timezone.utc),
    )


def c(data):
    parsed = conditions.parse(data)
    assert not isinstance(parsed, conditions.Malformed), parsed
    return parsed


def const(value):
    return {"type": "const", "value": value}


def op(name, *operands, **more):
    return {"type": "operator", "operator": name, **more, "operands": list(operands)}


TASK_STATUS = {"type": "task", "task": "*", "value": "status"}


@pytest.mark.parametrize("condition, expected", [
    (const("x"), "x"),
    ({"type": "phase", "phase": "extract", "value": "status"}, "user_error"),
    ({"type": "phase", "phase": "load", "value": "status"}, "skipped"),
    ({"type": "task", "task": "ex2", "value": "status"}, "user_error"),
    ({"type": "task", "task": "tr", "value": "job.durationSeconds"}, 42),
    ({"type": "task", "task": "ex2", "value": "job.status"}, "error"),  # no job detail: from the task's status
    ({"type": "variable", "value": "limit"}, "10"),
    (op("AND", const(True), const("yes")), True),
    (op("AND", const(True), const(False)), False),
    (op("OR", const(False), const(1)), True),
    (op("OR", const(False), const("false")), False),
    (op("EQUALS", {"type": "task", "task": "tr", "value": "status"}, const("success")), True),
    (op("EQUALS", {"type": "variable", "value": "limit"}, const(10)), True),  # "10" equals 10, as in Keboola
    (op("NOT_EQUALS", {"type": "phase", "phase": "transform", "value": "status"}, const("success")), False),
    (op("GREATER_THAN", {"type": "task", "task": "tr", "value": "job.durationSeconds"}, const(40)), True),
    (op("LESS_THAN", {"type": "variable", "value": "limit"}, const("9.5")), False),
    (op("CONTAINS", {"type": "task", "task": "tr", "value": "job.result.message"}, const("in time")), True),
    (op("CONTAINS", {"type": "task", "task": "tr", "value": "job.result.message"}, const("late")), False),
    (op("INCLUDES", {"type": "variable", "value": "regions"}, const("eu")), True),
    (op("INCLUDES", {"type": "variable", "value": "regions"}, const("apac")), False),
    (op("ALL_TASKS_IN_PHASE", op("EQUALS", TASK_STATUS, const("success")), phase="extract"), False),
    (op("ALL_TASKS_IN_PHASE", op("EQUALS", TASK_STATUS, const("success")), phase="transform"), True),
    (op("ANY_TASKS_IN_PHASE", op("EQUALS", TASK_STATUS, const("user_error")), phase="extract"), True),
    (op("ANY_TASKS_IN_PHASE", op("EQUALS", TASK_STATUS, const("user_error")), phase="transform"), False),
    (op("ANY_TASKS_IN_ANY_PHASE", op("EQUALS", {"type": "task", "task": "*", "value": "job.status"}, const("error"))),
     True),
    ({"type": "operator", "operator": "CONTINUE_ON_FAILURE", "phase": "extract", "tasks": ["ex2"]}, True),
    ({"type": "operator", "operator": "CONTINUE_ON_FAILURE", "phase": "extract", "tasks": []}, False),
    ({"type": "function", "function": "COUNT",
      "operands": [{"type": "task", "task": "tr", "value": "job.result.output.tables"}]}, 2),
    ({"type": "function", "function": "COUNT", "operands": [{"type": "task", "task": "ex", "value": "job.result"}]},
     0),
    ({"type": "function", "function": "DATE", "operands": [const("Y-m-d N F \\a\\t H:i:s")]},
     "2024-02-29 4 February at 13:05:09"),
    ({"type": "function", "function": "DATE", "operands": [const("U")]}, "1709211909"),
    ({"type": "array", "operands": [const(1), {"type": "variable", "value": "limit"}]}, [1, "10"]),
])
def test_conditions_evaluate_as_keboola_does(condition, expected):
    assert conditions.evaluate(c(condition), context()) == expected


def test_a_condition_on_something_it_cannot_tell_fails_clearly():
    with pytest.raises(kb.KeboolaError, match="variable 'missing', which no task has set"):
        conditions.evaluate(c({"type": "variable", "value": "missing"}), context())
    with pytest.raises(kb.KeboolaError, match="GREATER_THAN compares numbers; 'user_error' is not one"):
        conditions.evaluate(c(op("GREATER_THAN", {"type": "phase", "phase": "extract", "value": "status"},
                                 const(1))), context())
    with pytest.raises(kb.KeboolaError, match="task '\\*' outside"):
        conditions.evaluate(c(TASK_STATUS), context())


# the shorthand ------------------------------------------------------------------------------------------------
CONFIGS = {"mysql-sales": ("keboola.ex-db-mysql", "101"), "snowflake-customers": ("keboola.ex-db-snowflake", "102"),
           "daily_revenue": ("keboola.snowflake-transformation", "201"),
           "bq-daily-revenue": ("keboola.wr-google-bigquery-v2", "301")}


def resolve(name):
    if name not in CONFIGS:
        raise kb.KeboolaError(f"there is no configuration named {name!r} in this project")
    return CONFIGS[name]


LISTED = """
schedule: "0 1 * * *"
timezone: Europe/Prague
phases:
  - extract: [mysql-sales, snowflake-customers]
  - transform: [daily_revenue]
  - load: [bq-daily-revenue]
notify:
  - when: failed
    email: team@example.com
  - when: failed
    webhook: https://hooks.example.com/x
  - when: daily_revenue.status == user_error
    email: [analyst@example.com]
"""


def test_the_shorthand_lists_phases_in_run_order_and_resolves_names():
    flow, schedule, _ = shorthand.parse(LISTED, "daily", resolve)
    assert schedule == Schedule("0 1 * * *", "Europe/Prague")
    assert model.order(flow) == ["extract", "transform", "load"]
    jobs = [(t.phase, t.id, t.job.component_id, t.job.config_id) for t in flow.tasks if t.kind == "job"]
    assert jobs == [("extract", "mysql-sales", "keboola.ex-db-mysql", "101"),
                    ("extract", "snowflake-customers", "keboola.ex-db-snowflake", "102"),
                    ("transform", "daily_revenue", "keboola.snowflake-transformation", "201"),
                    ("load", "bq-daily-revenue", "keboola.wr-google-bigquery-v2", "301")]
    notes = [(t.phase, [(r.channel, r.address) for r in t.notification.recipients]) for t in flow.tasks
             if t.kind == "notification"]
    assert notes == [("notify-failed", [("email", "team@example.com")]),
                     ("notify-failed", [("webhook", "https://hooks.example.com/x")]),
                     ("notify-2", [("email", "analyst@example.com")])]
    checks.check(flow, lambda component_id, config_id: True)
    # every phase goes to the failure notification when it failed, before anything else
    failed = Context(phase_status={"load": "application_error"})
    for phase in ("extract", "transform", "load"):
        first = flow.phase(phase).next[0]
        assert first.goto == "notify-failed"
        assert conditions.evaluate(first.condition, failed) is (phase == "load")
    # the condition is told after its task's phase, and the flow goes on afterwards
    transform = flow.phase("transform")
    assert [t.goto for t in transform.next] == ["notify-failed", "notify-2", "load"]
    told = Context(task_status={"daily_revenue": "user_error"})
    assert conditions.evaluate(transform.next[1].condition, told) is True
    assert conditions.evaluate(transform.next[1].condition, Context(task_status={"daily_revenue": "success"})) is False
    assert [t.goto for t in flow.phase("notify-2").next] == ["load"]
    assert flow.phase("notify-failed").next == [] and flow.phase("load").next[-1].goto is None
    # what Keboola gets is a plain keboola.flow that reads back and writes as it was
    written = model.to_flow_json(flow)
    assert dumped(model.to_flow_json(model.from_flow_json(written))) == dumped(written)
    assert written["phases"][1]["next"][1]["condition"] == {"type": "operator", "operator": "EQUALS", "operands": [
        {"type": "task", "task": "daily_revenue", "value": "status"}, {"type": "const", "value": "user_error"}]}


def test_the_shorthand_with_explicit_phases_and_depends_on_maps_to_the_same_model():
    listed, _, _ = shorthand.parse({"phases": [{"extract": ["mysql-sales", "snowflake-customers"]},
                                               {"transform": ["daily_revenue"]}]}, "daily", resolve)
    explicit, schedule, description = shorthand.parse("""
description: Revenue every night
phases:
  - id: transform
    tasks: [daily_revenue]
    depends_on: [extract]
  - {id: extract, tasks: [mysql-sales, snowflake-customers]}
""", "daily", resolve)
    assert schedule is None and description == "Revenue every night"
    assert model.to_flow_json(explicit) == model.to_flow_json(listed)
    assert [(e.source, e.target) for e in model.edges(explicit)] == [("extract", "transform")]


def test_a_succeeded_notification_is_reached_from_the_last_phase():
    flow, _, _ = shorthand.parse({"phases": [{"extract": "mysql-sales"}, {"load": "bq-daily-revenue"}],
                                  "notify": [{"when": "succeeded", "email": "ok@example.com"}]}, "d", resolve)
    load = flow.phase("load")
    assert [t.goto for t in load.next] == ["notify-succeeded", None]
    assert conditions.evaluate(load.next[0].condition, Context(phase_status={"load": "success"})) is True
    assert [t.goto for t in flow.phase("extract").next] == ["load"]


@pytest.mark.parametrize("body, message", [
    ({"phases": [{"extract": ["mysql-sales"]}], "retries": 3}, "unknown key(s) retries"),
    ({"phases": [{"id": "x", "tasks": ["mysql-sales"], "parallel": True}]}, "unknown key(s) parallel"),
    ({"phases": [{"x": ["mysql-sales"]}], "notify": [{"when": "failed", "sms": "123"}]}, "unknown key(s) sms"),
    ({"phases": [{"x": ["nope"]}]}, "no configuration named 'nope'"),
    ({"phases": []}, "'phases' must list at least one phase"),
    ({"phases": [{"x": ["mysql-sales"]}, {"x": ["daily_revenue"]}]}, "two phases are named 'x'"),
    ({"phases": [{"id": "x", "tasks": ["mysql-sales"], "depends_on": ["y"]}]}, "depends on unknown phase(s) y"),
    ({"phases": [{"x": ["mysql-sales"]}], "notify": [{"when": "failed"}]}, "has no recipient"),
    ({"phases": [{"x": ["mysql-sales"]}], "notify": [{"when": "ghost.status == success", "email": "a@b.cz"}]},
     "looks at 'ghost', which is no task or phase"),
    ({"phases": [{"x": ["mysql-sales"]}], "notify": [{"when": "x.status == broken", "email": "a@b.cz"}]},
     "a status is one of success"),
    ({"phases": [{"x": ["mysql-sales"]}], "timezone": "UTC"}, "'timezone' is given without a 'schedule'"),
    # The issue's own spelling of a data check: named, with the construct Keboola has for it.
    ({"phases": [{"t": ["daily_revenue"]}], "notify": [{"when": "daily_revenue.revenue_drop > 0.1",
                                                        "email": "a@b.cz"}]},
     "reads 'revenue_drop', a value in daily_revenue's data"),
])
def test_shorthand_mistakes_are_named(body, message):
    with pytest.raises(kb.KeboolaError) as error:
        shorthand.parse(body, "daily", resolve)
    assert message in str(error.value)


def test_unknown_shorthand_keys_list_the_allowed_ones():
    with pytest.raises(kb.KeboolaError) as error:
        shorthand.parse("phases:\n  - x: [mysql-sales]\ncron: daily\n", "daily", resolve)
    assert "unknown key(s) cron" in error.value.what
    assert error.value.fix == "allowed keys: description, notify, phases, schedule, timezone"


# the components -------------------------------------------------------------------------------------------------
def test_the_flow_component_builds_checks_and_summarises(project):
    from keboola_nb import components

    assert components.get("keboola.flow") is flows.FLOW
    config, schedule = flows.FLOW.build_flow("daily", LISTED, resolve, lambda component_id, config_id: True)
    assert (config.component_id, config.rows, schedule.cron) == ("keboola.flow", [], "0 1 * * *")
    project.configs.save(config)
    assert (project.layout.branch_dir / "other" / "keboola.flow" / "daily" / "config.json").exists()
    saved = project.configs.get("daily")
    assert saved.configuration == config.configuration
    [(name, flow)] = flows.FLOW.check(saved)
    assert name == "daily" and model.order(flow) == ["extract", "transform", "load"]
    lines = flows.FLOW.summary(saved)
    assert lines[2] == {"phase": "transform", "task": "daily_revenue", "kind": "job",
                        "target": "keboola.snowflake-transformation/201", "enabled": True}
    assert lines[-1]["kind"] == "notification" and lines[-1]["target"] == "email:analyst@example.com"
    with pytest.raises(kb.KeboolaError, match="which is not in this project"):
        flows.FLOW.build_flow("daily2", LISTED, resolve, lambda component_id, config_id: config_id != "301")


def test_the_flow_component_refuses_a_flow_with_problems():
    config = Configuration("keboola.flow", "1", "bad", model.to_flow_json(problem_flow()))
    with pytest.raises(kb.KeboolaError, match="flow 'bad' has .* problem"):
        flows.FLOW.check(config)


def test_the_legacy_component_reads_runs_and_writes_legacy_json_but_builds_nothing():
    config = Configuration("keboola.orchestrator", "9", "old", copy.deepcopy(LEGACY))
    [(_, flow)] = flows.ORCHESTRATOR.check(config)
    assert model.order(flow) == ["1", "2", "3"]
    assert flows.ORCHESTRATOR.configuration_json(flow) == LEGACY
    assert [line["enabled"] for line in flows.ORCHESTRATOR.summary(config)] == [True, True, False]
    with pytest.raises(kb.KeboolaError, match="new flows are written as keboola.flow"):
        flows.ORCHESTRATOR.build_flow("x", LISTED, resolve, lambda component_id, config_id: True)
    assert (flows.FLOW.type, flows.ORCHESTRATOR.type) == ("other", "other")
