"""Edits of a flow as its editor makes them (on the canvas or in the card): enable or disable a task, move it to
another phase, make a phase run after others, link two phases, remove an arrow. Each changes the Flow model in place
and says what it did; saving (and checking) the result is `project.flows.update`'s.

Phases on the flow's default path run one after another: a phase depends on the one before it. Changing what a
phase runs after reorders that path (`model.chain`, the edited phase as early as its dependencies allow) and is
written back as the phases' default transitions; conditional transitions are kept as they are.
"""

from __future__ import annotations

from ...errors import KeboolaError
from . import model


def depends_of(path: list[str]) -> dict[str, list[str]]:
    """The dependencies a default path implies: each phase on it depends on the one before it."""
    return {phase: [path[i - 1]] if i else [] for i, phase in enumerate(path)}


def enable(task: model.Task, on: bool) -> str:
    task.enabled = on
    return "enabled" if on else "disabled"


def move(flow: model.Flow, task: model.Task, phase_id: str) -> str:
    """Put `task` in phase `phase_id` (the flow must have it)."""
    phase = flow.phase(phase_id)
    task.phase = phase.id
    return f"moved to phase {phase_name(phase)}"


def depend(flow: model.Flow, phase_id: str, after: list[str]) -> str:
    """`reorder`, saying what it did."""
    reorder(flow, phase_id, after)
    return f"dependencies changed ({_order(flow)})"


def link(flow: model.Flow, first: str, then: str) -> str:
    """Make phase `then` run right after phase `first`: what it runs after becomes `first`, as when that alone is
    chosen in the panel (see `reorder`). Adding `first` to what `then` already runs after would change nothing or
    close a circle, since each phase on the chain runs after the one before it; replacing it draws the arrow drawn."""
    if first == then:
        raise KeboolaError(f"phase {phase_name(flow.phase(first))!r} cannot run after itself",
                           fix="click two different phases")
    path = model.order(flow)
    for phase_id in (first, then):
        if phase_id not in path:
            raise KeboolaError(f"phase {phase_name(flow.phase(phase_id))!r} is reached only through a condition, so it "
                               f"has no place in the order to link", fix="link phases joined by solid arrows, or "
                               "edit the conditional transitions in the flow JSON")
    reorder(flow, then, [first])
    return f"{phase_name(flow.phase(then))} runs after {phase_name(flow.phase(first))} ({_order(flow)})"


def unlink(flow: model.Flow, source: str, transition_id: str) -> str:
    """Remove the arrow of transition `transition_id` of phase `source`. On the default path that is a dependency:
    its target no longer runs after `source` (see `reorder`); a conditional transition is simply deleted."""
    phase = flow.phase(source)
    transition = next((t for t in phase.next if t.id == transition_id), None)
    if transition is None or transition.goto is None:
        raise KeboolaError(f"phase {phase_name(phase)!r} has no such arrow any more",
                           fix="click an arrow on the redrawn graph")
    target, path = flow.phase(transition.goto), model.order(flow)
    if transition is model.default_next(phase) and source in path:
        reorder(flow, target.id, [p for p in depends_of(path)[target.id] if p != source])
        return f"{phase_name(target)} no longer runs after {phase_name(phase)} ({_order(flow)})"
    phase.next = [t for t in phase.next if t is not transition]
    return f"{phase_name(phase)} no longer goes on to {phase_name(target)}"


def phase_name(phase: model.Phase) -> str:
    return phase.name or phase.id


def _order(flow: model.Flow) -> str:
    return "order: " + " → ".join(phase_name(flow.phase(p)) for p in model.order(flow))


def reorder(flow: model.Flow, phase_id: str, after: list[str]) -> None:
    """Make phase `phase_id` depend on the phases `after` (the others on the default path keep depending on the
    one before them) and rewrite the default transitions along the order that implies; a circle raises."""
    path = model.order(flow)
    if phase_id not in path:
        raise KeboolaError(f"phase {phase_id!r} is not on the flow's default path; its transitions are conditional",
                           fix="edit its transitions in the flow JSON")
    depends = depends_of(path) | {phase_id: [p for p in after if p != phase_id]}
    # listed first, the phase runs as soon as what it now depends on has run; the others keep their order
    ordered = model.chain([phase_id, *[p for p in path if p != phase_id]], depends, "the flow")
    for i, pid in enumerate(ordered):
        phase = flow.phase(pid)
        goto = ordered[i + 1] if i + 1 < len(ordered) else None
        default = model.default_next(phase)
        if default is None and goto is not None:
            phase.next = [*phase.next, model.Transition(id=f"{pid}-{goto}", goto=goto)]
        elif default is not None:
            default.goto = goto
    first = flow.phase(ordered[0])
    flow.phases = [first, *[p for p in flow.phases if p is not first]]
