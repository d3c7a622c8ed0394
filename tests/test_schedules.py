"""Schedules: cron checks, run times across DST, words, crontab lines, and kbc's schedules/ folders."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from kbc import API_HOST, BRANCH_ID, PROJECT_ID, kbc_pulled_folder, problems

import keboola_nb as kb
from keboola_nb.errors import KeboolaError
from keboola_nb.model.configuration import Configuration
from keboola_nb.model.schedule import Schedule
from keboola_nb.store.schedules import remove_schedule, schedules_of, set_schedule

UTC = timezone.utc


# checking ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cron", ["0 1,13 * * *", "*/15 * * * *", "0 10 L * *", "0 6 * * MON-FRI", "5 4 * * 7"])
def test_keboolas_examples_are_valid(cron):
    assert Schedule(cron).check().cron == cron


@pytest.mark.parametrize("cron, said", [
    ("0 1 * *", "has 4 field(s); a schedule's cron has 5"),
    ("0 0 1 * * 5", "has 6 field(s)"),
    ("", "has 0 field(s)"),
    ("61 1 * * *", "its minute field '61' is not valid"),
    ("0 25 * * *", "its hour field '25' is not valid"),
    ("0 1 32 * *", "its day-of-month field '32' is not valid"),
    ("0 1 * 13 *", "its month field '13' is not valid"),
    ("0 1 * * MOON", "its day-of-week field 'MOON' is not valid"),
])
def test_a_bad_cron_names_the_field_and_shows_an_example(cron, said):
    with pytest.raises(KeboolaError) as error:
        Schedule(cron).check()
    assert said in error.value.what
    assert "'0 1 * * *'" in error.value.fix


def test_a_timezone_must_be_an_iana_name():
    assert Schedule("0 1 * * *", "Europe/Prague").check().timezone == "Europe/Prague"
    for bad in ("CET+1", "+02:00", "Mars/Olympus"):
        with pytest.raises(KeboolaError, match=re.escape(f"timezone '{bad}' is not an IANA timezone name")):
            Schedule("0 1 * * *", bad).check()
    with pytest.raises(KeboolaError) as error:
        Schedule("0 1 * * *", "europe/prague").check()
    assert "did you mean 'Europe/Prague'?" in error.value.fix


# times --------------------------------------------------------------------------------------------------
def test_next_runs_in_utc():
    after = datetime(2024, 2, 28, 12, 7, tzinfo=UTC)
    assert Schedule("*/15 * * * *").next_runs(3, after) == [
        datetime(2024, 2, 28, 12, m, tzinfo=UTC) for m in (15, 30, 45)]
    assert Schedule("0 1,13 * * *").next_runs(3, after) == [
        datetime(2024, 2, 28, 13, tzinfo=UTC), datetime(2024, 2, 29, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 13, tzinfo=UTC)]
    assert [r.date().isoformat() for r in Schedule("0 10 L * *").next_runs(3, after)] == [
        "2024-02-29", "2024-03-31", "2024-04-30"]  # the last day, leap year included


def test_next_runs_keep_the_local_time_across_dst_in_prague():
    schedule = Schedule("0 6 * * 1-5", "Europe/Prague")
    runs = schedule.next_runs(3, datetime(2024, 3, 28, 12, 0))  # naive: read in Prague
    assert [r.isoformat() for r in runs] == [
        "2024-03-29T06:00:00+01:00", "2024-04-01T06:00:00+02:00", "2024-04-02T06:00:00+02:00"]
    assert [r.astimezone(UTC).hour for r in runs] == [5, 4, 4]  # the UTC hour moves, the local one does not
    assert all(str(r.tzinfo) == "Europe/Prague" for r in runs)


def test_a_fixed_time_in_the_repeated_hour_runs_once_and_one_in_the_skipped_hour_runs_at_the_jump():
    prague = Schedule("30 2 * * *", "Europe/Prague")
    autumn = prague.next_runs(2, datetime(2024, 10, 26, 12, 0))
    assert [r.isoformat() for r in autumn] == ["2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"]
    spring = prague.next_runs(2, datetime(2024, 3, 30, 12, 0))
    assert spring[0].date().isoformat() == "2024-03-31" and spring[0].utcoffset().total_seconds() == 7200
    assert spring[1].isoformat() == "2024-04-01T02:30:00+02:00"
    every_half_hour = Schedule("*/30 * * * *", "Europe/Prague").next_runs(4, datetime(2024, 10, 27, 1, 50))
    assert [r.strftime("%H:%M%z") for r in every_half_hour] == ["02:00+0200", "02:30+0200", "02:00+0100",
                                                                "02:30+0100"]  # wildcard hours: both


def test_an_aware_after_is_converted_to_the_schedules_timezone():
    runs = Schedule("0 1 * * *", "Europe/Prague").next_runs(1, datetime(2024, 6, 1, 0, 30, tzinfo=UTC))
    assert runs[0].isoformat() == "2024-06-02T01:00:00+02:00"  # 00:30 UTC is 02:30 in Prague: 01:00 has passed


# words ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cron, tz, words", [
    ("0 1 * * *", "UTC", "every day at 01:00 UTC"),
    ("*/15 * * * *", "UTC", "every 15 minutes"),
    ("* * * * *", "UTC", "every minute"),
    ("5 * * * *", "UTC", "every hour at minute 5"),
    ("30 */6 * * *", "UTC", "every 6 hours from 00:30 UTC"),
    ("0 1,13 * * *", "UTC", "every day at 01:00 and 13:00 UTC"),
    ("0 10 L * *", "UTC", "at 10:00 UTC on the last day of the month"),
    ("0 6 * * 1-5", "Europe/Prague", "at 06:00 on Monday to Friday (Europe/Prague)"),
    ("0 6 * * MON,WED,FRI", "UTC", "at 06:00 UTC on Monday, Wednesday and Friday"),
    ("15 22 * * 0", "UTC", "every Sunday at 22:15 UTC"),
    ("0 7 * * 7", "Europe/Prague", "every Sunday at 07:00 (Europe/Prague)"),
    ("0 3 2 * *", "UTC", "at 03:00 UTC on the 2nd of the month"),
    ("0 0 1 JAN *", "UTC", "every year at 00:00 UTC on 1 January"),
    ("0 9-17 * * *", "UTC", "cron '0 9-17 * * *' (UTC)"),
    ("0 6 1 * 1", "Europe/Prague", "cron '0 6 1 * 1' (Europe/Prague)"),  # day OR weekday: left as the cron
])
def test_describe(cron, tz, words):
    assert Schedule(cron, tz).describe() == words


def test_describe_says_a_disabled_schedule_is_off():
    assert Schedule("0 1 * * *", enabled=False).describe() == "every day at 01:00 UTC (disabled)"


# crontab ----------------------------------------------------------------------------------------------------
def test_crontab_line():
    assert Schedule("0 1 * * *").crontab_line("run.sh") == "0 1 * * * run.sh"
    assert Schedule("0 6 * * 1-5", "Europe/Prague").crontab_line("run.sh --day $(date +%F)") == \
        "CRON_TZ=Europe/Prague\n0 6 * * 1-5 run.sh --day $(date +\\%F)"  # crontab reads a bare % as a newline
    assert Schedule("0 1 * * *", enabled=False).crontab_line("run.sh") == "# 0 1 * * * run.sh"


def test_crontab_line_refuses_what_crontab_cannot_read():
    with pytest.raises(KeboolaError, match="uses L, W or #"):
        Schedule("0 10 L * *").crontab_line("run.sh")
    with pytest.raises(KeboolaError, match="one non-empty line"):
        Schedule("0 1 * * *").crontab_line("a\nb")
    with pytest.raises(KeboolaError, match="minute field"):
        Schedule("99 1 * * *").crontab_line("run.sh")


# json --------------------------------------------------------------------------------------------------------
def test_to_json_and_back():
    schedule = Schedule("0 6 * * 1-5", "Europe/Prague", enabled=False)
    full = schedule.to_json("keboola.flow", "1234567", in_kbc_layout=False)
    assert full == {"schedule": {"cronTab": "0 6 * * 1-5", "timezone": "Europe/Prague", "state": "disabled"},
                    "target": {"componentId": "keboola.flow", "configurationId": "1234567", "mode": "run"}}
    assert schedule.to_json("keboola.flow", "1234567", in_kbc_layout=True)["target"] == {"mode": "run"}
    assert Schedule.from_json(full) == schedule
    assert Schedule.from_json({"schedule": {"cronTab": "0 1 * * *"}}) == Schedule("0 1 * * *")
    with pytest.raises(KeboolaError, match="no schedule.cronTab"):
        Schedule.from_json({"target": {"mode": "run"}})


# the project ---------------------------------------------------------------------------------------------------
def _target(project, name="orders"):
    return project.configs.save(Configuration("keboola.ex-db-pgsql", f"id-{name}", name, {}))


def test_set_schedule_writes_kbcs_schedules_folder(project):
    target = _target(project)
    schedule = set_schedule(project.configs, target, Schedule("0 1 * * *"))
    folder = project.root / "main/extractor/keboola.ex-db-pgsql/orders/schedules/daily"
    assert json.loads((folder / "config.json").read_text()) == {
        "schedule": {"cronTab": "0 1 * * *", "timezone": "UTC", "state": "enabled"}, "target": {"mode": "run"}}
    assert json.loads((folder / "meta.json").read_text()) == {"name": "daily", "isDisabled": False}
    manifest = json.loads((project.root / ".keboola/manifest.json").read_text())
    record = next(c for c in manifest["configurations"] if c["id"] == schedule.id)
    assert record == {"componentId": "keboola.scheduler", "id": schedule.id, "path": "schedules/daily",
                      "relations": [{"componentId": "keboola.ex-db-pgsql", "configId": target.id,
                                     "type": "schedulerFor"}], "rows": []}
    project.link(PROJECT_ID, API_HOST, BRANCH_ID)
    assert problems(project.root) == []
    [(found, read)] = schedules_of(project.configs, target)
    assert (found.id, read) == (schedule.id, Schedule("0 1 * * *"))


def test_changing_a_schedule_keeps_its_id_and_folder(project):
    target = _target(project)
    first = set_schedule(project.configs, target, Schedule("0 1 * * *"))
    second = set_schedule(project.configs, target, Schedule("0 6 * * 1-5", "Europe/Prague"))
    assert second.id == first.id
    folder = project.root / "main/extractor/keboola.ex-db-pgsql/orders/schedules"
    assert [p.name for p in folder.iterdir()] == ["daily"]
    assert json.loads((folder / "daily/config.json").read_text())["schedule"] == {
        "cronTab": "0 6 * * 1-5", "timezone": "Europe/Prague", "state": "enabled"}
    assert [s for _, s in schedules_of(project.configs, target)] == [Schedule("0 6 * * 1-5", "Europe/Prague")]
    versions = len(project.configs.versions(first.id))
    set_schedule(project.configs, target, Schedule("0 6 * * 1-5", "Europe/Prague"))  # the same again
    assert len(project.configs.versions(first.id)) == versions


def test_a_bad_schedule_is_not_saved(project):
    target = _target(project)
    with pytest.raises(KeboolaError, match="hour field"):
        set_schedule(project.configs, target, Schedule("0 24 * * *"))
    assert schedules_of(project.configs, target) == []
    assert not (project.root / "main/extractor/keboola.ex-db-pgsql/orders/schedules").exists()


def test_schedule_names_are_unique_in_the_project(project):
    orders, customers = _target(project, "orders"), _target(project, "customers")
    set_schedule(project.configs, orders, Schedule("0 1 * * *"))
    with pytest.raises(KeboolaError, match="'daily' is taken") as error:
        set_schedule(project.configs, customers, Schedule("0 2 * * *"))
    assert "customers daily" in error.value.fix
    set_schedule(project.configs, customers, Schedule("0 2 * * *"), name="customers daily")
    assert [c.name for c, _ in schedules_of(project.configs, customers)] == ["customers daily"]
    assert [c.name for c, _ in schedules_of(project.configs, orders)] == ["daily"]


def test_remove_schedule(project):
    target = _target(project)
    schedule = set_schedule(project.configs, target, Schedule("0 1 * * *"))
    set_schedule(project.configs, target, Schedule("0 13 * * *"), name="afternoon")
    remove_schedule(project.configs, target, "daily")
    assert [c.name for c, _ in schedules_of(project.configs, target)] == ["afternoon"]
    manifest = json.loads((project.root / ".keboola/manifest.json").read_text())
    assert schedule.id not in {c["id"] for c in manifest["configurations"]}
    assert not (project.root / "main/extractor/keboola.ex-db-pgsql/orders/schedules/daily").exists()
    with pytest.raises(KeboolaError, match=r"has no schedule 'daily' \(schedules: afternoon\)"):
        remove_schedule(project.configs, target, "daily")


def test_a_pulled_schedule_is_read_and_changed_in_place(tmp_path):
    root = kbc_pulled_folder(tmp_path / "kbc")
    project = kb.Project.open(root)
    try:
        target = project.configs.get("my config")
        [(config, schedule)] = schedules_of(project.configs, target)
        assert (config.id, config.name, schedule) == ("1001", "nightly", Schedule("0 1 * * *"))
        assert schedule.describe() == "every day at 01:00 UTC"
        set_schedule(project.configs, target, Schedule("0 2 * * *"), name="nightly")
        on_disk = json.loads((root / "main/extractor/keboola.ex-db-mysql/my-config/schedules/nightly/config.json")
                             .read_text())
        assert on_disk == {"schedule": {"cronTab": "0 2 * * *", "timezone": "UTC", "state": "enabled"},
                           "target": {"mode": "run"}}
        manifest = json.loads((root / ".keboola/manifest.json").read_text())
        assert [c["id"] for c in manifest["configurations"] if c["componentId"] == "keboola.scheduler"] == ["1001"]
        assert problems(root) == []
    finally:
        project.close()
