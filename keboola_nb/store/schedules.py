"""A configuration's schedules, kept as kbc keeps them: `keboola.scheduler` configurations inside the target's
folder (`<target>/schedules/<name>/config.json`), tied to it by a `schedulerFor` relation in the manifest."""

from __future__ import annotations

from typing import Any

from ..errors import KeboolaError
from ..model.configuration import Configuration, new_id
from ..model.schedule import COMPONENT, Schedule
from .configs import ConfigStore


def schedules_of(configs: ConfigStore, target: Configuration) -> list[tuple[Configuration, Schedule]]:
    """The scheduler configurations that belong to `target` (by the manifest's schedulerFor relation, so kbc's
    pulled ones count too), with their schedules, by name."""
    found = [child for child, _ in configs.children(target, "schedulerFor")]
    return sorted(((c, Schedule.from_json(c.configuration)) for c in found), key=lambda pair: pair[0].name)


def set_schedule(configs: ConfigStore, target: Configuration, schedule: Schedule, name: str = "daily",
                 actor: str = "user") -> Configuration:
    """Create the target's schedule called `name`, or change it keeping its id (so `kbc push` updates the one
    in Keboola rather than adding a second)."""
    schedule.check()
    if target.component_id == COMPONENT:
        raise KeboolaError(f"{target.name!r} is a schedule itself", fix="schedule the configuration it runs")
    existing = next((c for c, _ in schedules_of(configs, target) if c.name == name), None)
    if existing is None:
        _refuse_taken(configs, name, target)
        child = Configuration(COMPONENT, new_id(), name, schedule.to_json(target.component_id, target.id, True))
        return configs.save(child, actor=actor, child_of={"componentId": target.component_id, "configId": target.id,
                                                          "type": "schedulerFor"})
    configuration = _updated(existing.configuration, schedule)
    if configuration == existing.configuration:
        return existing  # nothing changed: no new version
    existing.configuration = configuration
    return configs.save(existing, actor=actor, change="schedule changed")


def remove_schedule(configs: ConfigStore, target: Configuration, name: str = "daily", actor: str = "user") -> None:
    """Remove the target's schedule called `name` (its folder and manifest record)."""
    found = schedules_of(configs, target)
    existing = next((c for c, _ in found if c.name == name), None)
    if existing is None:
        known = ", ".join(c.name for c, _ in found) or "none"
        raise KeboolaError(f"configuration {target.name!r} has no schedule {name!r} (schedules: {known})")
    configs.delete(existing.id, actor=actor)


def _updated(configuration: dict[str, Any], schedule: Schedule) -> dict[str, Any]:
    """The new times, keeping what else the schedule holds (a pulled target's tag, say)."""
    fresh = schedule.to_json("", "", in_kbc_layout=True)
    old_schedule = configuration.get("schedule") if isinstance(configuration.get("schedule"), dict) else {}
    target = configuration.get("target") if isinstance(configuration.get("target"), dict) else fresh["target"]
    return {**configuration, "schedule": {**old_schedule, **fresh["schedule"]}, "target": target}


def _refuse_taken(configs: ConfigStore, name: str, target: Configuration) -> None:
    """Configuration names are unique in a project, schedules' too: say so before kbc's folder is made."""
    other = configs.find(name)
    if other is not None:
        raise KeboolaError(f"the name {name!r} is taken by configuration {other.id} ({other.component_id})",
                           fix=f"name this schedule after what it runs, e.g. name='{target.name} {name}'")
