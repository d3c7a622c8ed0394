"""`keboola-nb`: the project from a shell, e.g. to run a configuration from cron.

    keboola-nb run shop-orders              # runs it; exit code 1 when the job fails
    keboola-nb configs | jobs | storage     # what the project holds
    keboola-nb components                   # the components it can build and run (plug-ins too)
    keboola-nb link 1234 connection.keboola.com --branch 5678   # for kbc push; no arguments: show the link
    keboola-nb --project path/to/project ...

The same core API as the magics; output is plain text (or JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keboola-nb", description="Keboola pipelines from a notebook project.")
    parser.add_argument("--project", help="project folder (default: $KEBOOLA_NB_PROJECT or ./keboola-project)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a configuration and wait for its job")
    run.add_argument("name", help="configuration name or id")
    run.add_argument("--row", action="append", help="run only this row (table); repeat for several")
    commands.add_parser("configs", help="list the configurations")
    jobs = commands.add_parser("jobs", help="recent jobs")
    jobs.add_argument("--limit", type=int, default=20)
    commands.add_parser("storage", help="tables in storage")
    commands.add_parser("components", help="the Keboola components this installation can build and run")
    link = commands.add_parser("link", help="link the project to Keboola for kbc push (no arguments: show the link "
                                            "and the vault variables it needs)")
    link.add_argument("project_id", nargs="?", type=int, help="the Keboola project's id")
    link.add_argument("api_host", nargs="?", help="its stack's API host, e.g. connection.keboola.com")
    link.add_argument("--branch", type=int, metavar="ID", help="the id of the branch to push to")
    link.add_argument("--from", dest="from_folder", metavar="PATH", help="read all three from a kbc checkout")
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
    if args.command == "run":
        job = project.run(args.name, rows=args.row, actor="cli")
        if args.json:
            print(json.dumps({"id": job.id, "status": job.status, "rows": job.rows, "seconds": job.duration,
                              "error": job.error}))
        else:
            print(repr(job))
        return 0 if job.status == "success" else 1
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


def _components() -> Any:
    import pandas as pd

    from . import components

    return pd.DataFrame(components.listing()).drop(columns=["entries"])


def _print(frame: Any, as_json: bool) -> None:
    print(frame.to_json(orient="records", date_format="iso") if as_json else frame.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
