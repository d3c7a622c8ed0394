"""`keboola-nb`: the project from a shell, e.g. to run a configuration from cron.

    keboola-nb run shop-orders              # runs it; exit code 1 when the job fails, 2 when it could not start
    keboola-nb run daily --resume 42        # a flow again, skipping the phases that succeeded in its job 42
    keboola-nb schedule daily               # its schedules as crontab lines running `keboola-nb run daily`
    keboola-nb configs | jobs | storage     # what the project holds
    keboola-nb components                   # the components it can build and run (plug-ins too)
    keboola-nb link 1234 connection.keboola.com --branch 5678   # for kbc push; no arguments: show the link
    keboola-nb mcp --project PATH           # the assistant's tools over MCP (stdio; --http PORT: loopback HTTP)
    keboola-nb --project path/to/project ...   # or after the command: keboola-nb run daily --project ...

The same core API as the magics; output is plain text (or JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

PROJECT_HELP = "project folder (default: $KEBOOLA_NB_PROJECT or ./keboola-project)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keboola-nb", description="Keboola pipelines from a notebook project.")
    parser.add_argument("--project", help=PROJECT_HELP)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    # The same options after the command (as cron lines put them); SUPPRESS keeps one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project", default=argparse.SUPPRESS, help=PROJECT_HELP)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="run a configuration (a flow too) and wait for its job")
    run.add_argument("name", help="configuration name or id")
    run.add_argument("--row", action="append", help="run only this row (table); repeat for several")
    run.add_argument("--resume", type=int, metavar="JOB_ID",
                     help="a flow's failed job: run the flow again from its first phase that did not succeed")
    schedule = commands.add_parser("schedule", parents=[common],
                                   help="the configuration's schedules as crontab lines that run it")
    schedule.add_argument("name", help="configuration name or id")
    commands.add_parser("configs", parents=[common], help="list the configurations")
    jobs = commands.add_parser("jobs", parents=[common], help="recent jobs")
    jobs.add_argument("--limit", type=int, default=20)
    commands.add_parser("storage", parents=[common], help="tables in storage")
    commands.add_parser("components", parents=[common],
                        help="the Keboola components this installation can build and run")
    link = commands.add_parser("link", parents=[common],
                               help="link the project to Keboola for kbc push (no arguments: show the link "
                                    "and the vault variables it needs)")
    link.add_argument("project_id", nargs="?", type=int, help="the Keboola project's id")
    link.add_argument("api_host", nargs="?", help="its stack's API host, e.g. connection.keboola.com")
    link.add_argument("--branch", type=int, metavar="ID", help="the id of the branch to push to")
    link.add_argument("--from", dest="from_folder", metavar="PATH", help="read all three from a kbc checkout")
    mcp = commands.add_parser("mcp", parents=[common],
                              help="serve the assistant's tools over MCP (Claude Code, Claude Desktop, ...) on stdio")
    mcp.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on loopback at this port instead")
    mcp.add_argument("--host", default="127.0.0.1", help="loopback address for --http (default 127.0.0.1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import KeboolaError
    from .project import Project

    try:
        if args.command == "components":  # what the installation has, project or not
            _print(_components(), args.json)
            return 0
        project = Project.open(args.project, create=False)
        try:
            return _run(project, args)
        finally:
            project.close()
    except KeboolaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(project: Any, args: argparse.Namespace) -> int:
    if args.command == "mcp":
        from .mcp_server import serve

        serve(project, "http" if args.http else "stdio", args.host, args.http or 0)
        return 0
    if args.command == "run":
        job = project.run(args.name, rows=args.row, actor="cli", resume=args.resume)
        children = project.jobs.children(job.id)  # a flow's task jobs; none for anything else
        if args.json:
            print(json.dumps({"id": job.id, "status": job.status, "rows": job.rows, "seconds": job.duration,
                              "error": job.error, "tasks": [_job_json(c) for c in children]}))
        else:
            print(repr(job))
            for line in job.log:  # a resumed flow says which phases it skipped, and why
                if ": skipped, " in line:
                    print(f"  {line.split(' ', 1)[1]}")
            for child in children:
                print(f"  {_child_line(child)}")
        return 0 if job.status == "success" else 1
    if args.command == "schedule":
        _print_schedules(project, args.name)
        return 0
    if args.command == "link":
        if args.project_id is not None or args.from_folder:
            link = project.link(args.project_id, args.api_host, args.branch, from_folder=args.from_folder, actor="cli")
            print(f"linked to Keboola {link}")
        else:
            print(project.status())
        frame = project.vault()
        if not len(frame):
            return 0
        print("vault variables the Keboola project needs:")
    elif args.command == "configs":
        from .ui.display import configs_frame

        frame = configs_frame(project.configs.list())
    elif args.command == "jobs":
        frame = project.jobs.list(args.limit)
    else:
        frame = project.storage.tables()
    _print(frame, args.json)
    return 0


def _job_json(job: Any) -> dict[str, Any]:
    return {"id": job.id, "config": job.config_name, "status": job.status, "rows": job.rows, "seconds": job.duration,
            "error": job.error}


def _child_line(job: Any) -> str:
    """One task job of a flow in one line: id, configuration, status, time, the first line of its error."""
    took = f" in {job.duration:.2f} s" if job.duration is not None else ""
    error = f": {job.error.splitlines()[0]}" if job.error else ""
    return f"job {job.id} {job.config_name}: {job.status}{took}{error}"


def _print_schedules(project: Any, name: str) -> None:
    """Crontab lines running the configuration as its schedules say, each after a comment with the times in
    words and the next runs (so a wrong timezone shows before cron runs it)."""
    from .errors import KeboolaError

    config = project.configs.get(name)
    schedules = project.flows.schedules(config.name)
    if not schedules:
        raise KeboolaError(f"{config.name!r} has no schedule",
                           fix="give its flow a schedule: \"0 1 * * *\" (and timezone:), then run this again")
    command = " ".join(shlex.quote(part) for part in (*_executable(), "run", config.name, "--project",
                                                        str(Path(project.root).resolve())))
    for schedule in schedules:
        print(f"# {config.name}: {schedule.summary(joined='; next runs ')}")
        print(schedule.crontab_line(command))


def _executable() -> list[str]:
    """How cron should start this command: the keboola-nb script by its absolute path (cron's PATH is short)."""
    invoked = Path(sys.argv[0])
    if invoked.name.startswith("keboola-nb") and invoked.is_file():
        return [str(invoked.resolve())]
    found = shutil.which("keboola-nb") or shutil.which("keboola-nb", path=str(Path(sys.executable).parent))
    return [str(Path(found).resolve())] if found else [sys.executable, "-m", "keboola_nb.cli"]


def _components() -> Any:
    import pandas as pd

    from . import components

    return pd.DataFrame(components.listing()).drop(columns=["entries"])


def _print(frame: Any, as_json: bool) -> None:
    print(frame.to_json(orient="records", date_format="iso") if as_json else frame.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
