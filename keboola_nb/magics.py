"""`%keboola` and `%%keboola`: parse arguments, call the core API, display the result.

Each command is a method `cmd_<name>` with IPython `magic_arguments`; its docstring and arguments are
its help (`%keboola <command> --help`). Errors the user can fix become a one-line UsageError.
"""

from __future__ import annotations

import getpass
import os
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.text import dedent

_project: Any = None
_chat: Any = None  # the chat panel's session
_asker: Any = None  # the agent behind %%keboola ask


def session_project() -> Any:
    """The project the magics work on (opened on first use)."""
    global _project
    if _project is None:
        from .project import Project

        _project = Project.open()
    return _project


def close_session() -> None:
    global _project, _chat, _asker
    _chat = _asker = None
    if _project is not None:
        _project.close()
        _project = None


def _transformation_arguments(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options %%keboola sql and python share: the tables, variables, how outputs load, saving."""
    for option in reversed([
        argument("--in", dest="inputs", nargs="+", action="append", default=[], metavar="TABLE",
                 help="input storage table, e.g. in.c-shop.orders, or in.c-shop.orders AS name (repeatable)"),
        argument("--out", dest="outputs", nargs="+", action="append", default=[], metavar="TABLE",
                 help="output storage table, e.g. out.c-sales.daily, or daily AS out.c-sales.daily "
                      "(repeatable)"),
        argument("--var", dest="variables", action="append", default=[], metavar="NAME=VALUE",
                 help="a value for {{NAME}} in the code (repeatable); kept as the transformation's variables"),
        argument("--incremental", action="store_true", help="load the outputs incrementally (upsert by --pk)"),
        argument("--pk", help="the outputs' primary key, comma-separated"),
        argument("--replace", action="store_true", help="save as a new version of an existing transformation"),
        argument("--save-only", action="store_true", help="save without running"),
    ]):
        command = option(command)
    return command


@magics_class
class KeboolaMagics(Magics):
    @line_cell_magic
    def keboola(self, line: str, cell: str | None = None) -> Any:
        """Keboola pipelines in the notebook. `%keboola help` lists the commands."""
        command, _, rest = line.strip().partition(" ")
        if command in ("", "help", "--help", "-h"):
            return self._print(self._overview())
        handler = getattr(self, f"cmd_{command.replace('-', '_')}", None)
        if handler is None:
            raise UsageError(f"unknown command {command!r}. `%keboola help` lists the commands.")
        if "--help" in rest.split() or "-h" in rest.split():
            return self._print(handler.parser.format_help())
        from .errors import KeboolaError, notices

        try:
            args = handler.parser.parse_args(split_arguments(rest, unquote=not getattr(handler, "keeps_quotes", False)))
        except KeboolaError as e:
            raise UsageError(str(e)) from None

        notes: list[str] = []
        try:
            with notices() as notes:  # filled when the block ends
                return handler(args, cell) if getattr(handler, "takes_cell", False) else self._line_only(handler, args, cell)
        except KeboolaError as e:
            raise UsageError(str(e)) from None
        finally:
            for note in notes:
                print(f"note: {note}")

    def _line_only(self, handler: Callable[..., Any], args: Any, cell: str | None) -> Any:
        if cell is not None and cell.strip():
            raise UsageError(f"%%keboola {handler.__name__[4:]} takes no cell body; use the one-line form %keboola")
        return handler(args)

    def _overview(self) -> str:
        lines = ["%keboola COMMAND [options]      (%keboola COMMAND --help for details)", ""]
        for name in sorted(n for n in dir(self) if n.startswith("cmd_")):
            doc = dedent(getattr(self, name).__doc__ or "").strip().splitlines()
            summary = next((d for d in doc if d and not d.startswith("::") and not d.startswith("%")), "")
            lines.append(f"  {name[4:].replace('_', '-'):<12} {summary}")
        return "\n".join(lines)

    @staticmethod
    def _print(text: str) -> None:
        print(text)

    # project ---------------------------------------------------------------------------------
    @magic_arguments()
    @argument("path", nargs="?", help="project folder (default: $KEBOOLA_NB_PROJECT or ./keboola-project)")
    def cmd_open(self, args: Any) -> Any:
        """Open or create the project folder the other commands work on."""
        global _project
        from .project import Project

        close_session()
        _project = Project.open(args.path)
        return _project

    @magic_arguments()
    @argument("project_id", nargs="?", type=int, help="the Keboola project's id")
    @argument("api_host", nargs="?", help="its stack's API host, e.g. connection.keboola.com")
    @argument("--branch", type=int, metavar="ID", help="the id of the branch to push to (the default branch's)")
    @argument("--from", dest="from_folder", metavar="PATH", help="read all three from a kbc checkout (kbc init / pull)")
    def cmd_link(self, args: Any) -> Any:
        """Link the project to Keboola for `kbc push`; without arguments, say where it is linked and which vault
        variables the Keboola project needs."""
        project = session_project()
        if args.project_id is not None or args.from_folder:
            link = project.link(args.project_id, args.api_host, args.branch, from_folder=args.from_folder)
            print(f"linked to Keboola {link}")
        else:
            print(project.status())
        vault = project.vault()
        if len(vault):
            print("vault variables the Keboola project needs:")
            return vault
        return None

    @magic_arguments()
    @argument("server", nargs="?", metavar="HOST[:PORT]", help="the SMTP server (port default 25)")
    @argument("--from", dest="sender", default="", metavar="ADDRESS", help="sender (default keboola-nb@localhost)")
    @argument("--user", default="", help="log in as this user")
    @argument("--password-var", default="", metavar="NAME", help="vault variable holding the user's password")
    @argument("--tls", action="store_true", help="STARTTLS after connecting")
    def cmd_smtp(self, args: Any) -> Any:
        """Set the SMTP server the project's flows send email notifications through; without arguments, show it."""
        project = session_project()
        if args.server:
            project.settings.set_smtp(args.server, sender=args.sender, user=args.user, password=args.password_var,
                                      tls=args.tls)
        smtp = project.settings.smtp()
        if not smtp:
            print("no SMTP server is set: %keboola smtp HOST[:PORT] [--from ADDRESS] [--user U --password-var NAME]")
            return None
        login = f" as {smtp['user']} (password: {smtp.get('password') or 'none'})" if smtp.get("user") else ""
        tls = " with STARTTLS" if smtp.get("tls") else ""
        print(f"email notifications go through {smtp['host']}:{smtp['port']}{tls}{login}, "
              f"from {smtp.get('sender') or 'keboola-nb@localhost'}")
        return None

    @magic_arguments()
    def cmd_demo(self, args: Any) -> Any:
        """Start the embedded demo PostgreSQL (a small shop) and add the connection `demo`."""
        from . import demo

        connection = demo.start(session_project())
        print(f"demo PostgreSQL is running; connection {connection.name!r} -> database {demo.DATABASE!r}")
        return connection.tables()

    # connections -----------------------------------------------------------------------------
    @magic_arguments()
    @argument("name", help="a name for the connection, e.g. shop")
    @argument("url", help="e.g. postgresql://user@host:5432/database, mysql://user@host:3306/database, "
                          "snowflake://user@account/DATABASE/SCHEMA?warehouse=WH (leave the password out), "
                          "s3://bucket/prefix/ or bigquery://project/dataset?unload=gs://BUCKET[&location=EU]")
    @argument("--password-env", metavar="VAR", help="environment variable that holds the password")
    @argument("--access-key-env", metavar="VAR", help="S3: environment variable that holds the access key id")
    @argument("--secret-env", metavar="VAR", help="S3: environment variable that holds the secret access key "
                                                  "(without both, the standard AWS credential chain is used)")
    @argument("--role-arn", metavar="ARN", help="S3: an IAM role to assume (arn:aws:iam::ACCOUNT:role/NAME)")
    @argument("--private-key-env", metavar="VAR", help="Snowflake key pair: environment variable that holds the PEM private key")
    @argument("--key-file", metavar="PATH", help="BigQuery: the service account's JSON key file")
    @argument("--key-file-env", metavar="VAR", help="BigQuery: environment variable holding the key JSON (or its path)")
    @argument("--ask-password", action="store_true", help="type the password; it is kept in a 0600 file outside the project")
    @argument("--keyring", action="store_true", help="with --ask-password: keep it in the system keyring instead")
    @argument("--replace", action="store_true", help="replace an existing connection of this name")
    def cmd_connect(self, args: Any) -> Any:
        """Add a named connection to a source. Secrets are stored by reference only."""
        from .store.secrets import SecretRef, store_secret

        password: Any = None
        access_key = os.environ.get(args.access_key_env) if args.access_key_env else None
        if args.access_key_env and not access_key:
            raise UsageError(f"{args.access_key_env} is not set in this kernel; set it to the access key id first")
        secret_env = args.secret_env or args.password_env
        if secret_env:
            password = SecretRef(secret_env)
            if secret_env not in os.environ:
                print(f"note: {secret_env} is not set in this kernel yet; set it before testing the connection")
        elif args.ask_password:
            typed = getpass.getpass(f"password for {args.name}: ")
            password = store_secret(f"{args.name}-password", typed, "keyring" if args.keyring else "file")
        private_key = SecretRef(args.private_key_env) if args.private_key_env else None
        connection = session_project().connections.add(args.name, args.url, password=password, access_key=access_key,
                                                       private_key=private_key, role_arn=args.role_arn,
                                                       key_file=args.key_file,
                                                       key_env=args.key_file_env, replace=args.replace)
        print(f"connection {connection.name!r} saved ({connection.target()}; secret: {connection.secret()})")
        return connection.test()

    @magic_arguments()
    def cmd_connections(self, args: Any) -> Any:
        """List the connections: name, kind, target (never secrets)."""
        return session_project().connections.list()

    @magic_arguments()
    @argument("name")
    def cmd_disconnect(self, args: Any) -> Any:
        """Remove a connection (configurations that use it keep their own copy)."""
        session_project().connections.remove(args.name)
        print(f"connection {args.name!r} removed")

    @magic_arguments()
    @argument("name", help="connection name")
    def cmd_test(self, args: Any) -> Any:
        """Test a connection; on failure, say why and what to do."""
        return session_project().connections.get(args.name).test()

    @magic_arguments()
    @argument("name", help="connection name")
    @argument("--schema", help="only this schema")
    def cmd_tables(self, args: Any) -> Any:
        """Tables of a connection: schema, table, estimated rows (catalog statistics), primary key, columns."""
        return session_project().connections.get(args.name).tables(args.schema)

    @magic_arguments()
    @argument("name", help="connection name")
    @argument("table", help="schema.table")
    def cmd_describe(self, args: Any) -> Any:
        """Columns of a table: type, nullable, primary key, default, foreign key references."""
        return session_project().connections.get(args.name).describe(args.table)

    @magic_arguments()
    @argument("name", help="connection name")
    @argument("table", help="schema.table")
    @argument("--limit", type=int, default=100, help="rows to show (default 100; the limit runs on the server)")
    def cmd_preview(self, args: Any) -> Any:
        """The first rows of a source table as a DataFrame."""
        return session_project().connections.get(args.name).preview(args.table, args.limit)

    # configurations ----------------------------------------------------------------------------
    @magic_arguments()
    @argument("name", help="configuration name, e.g. shop-orders")
    @argument("--replace", action="store_true", help="save as a new version of an existing extractor")
    def cmd_extractor(self, args: Any, cell: str | None) -> Any:
        """Create a database extractor from a YAML cell body.

        ::

            %%keboola extractor shop-orders
            connection: shop
            tables:
              - table: public.orders
                incremental_fetching_column: updated_at   # optional
                primary_key: [id]                          # optional; detected from the source
              - table: public.customers
              - query: SELECT id, email FROM public.customers
                name: emails

        Other keys per table: columns, output_table, incremental, incremental_fetching_limit, enabled.
        For an S3 connection, list `files` instead of `tables`::

            connection: exports
            files:
              - key: exports/2024/*       # a trailing * = every file under the prefix; include_subfolders, ...
                table: city_sales
                primary_key: [id]
        """
        if not cell or not cell.strip():
            raise UsageError("%%keboola extractor needs a YAML body in the cell (see %keboola extractor --help)")
        config = session_project().extractors.create_from_yaml(args.name, cell, replace=args.replace)
        print(f"saved {config.component_id} {config.name!r} (id {config.id}, version {config.version})")
        return session_project().extractors.summary(config)

    cmd_extractor.takes_cell = True  # type: ignore[attr-defined]

    @magic_arguments()
    @argument("name", help="configuration name, e.g. to-dwh")
    @argument("--replace", action="store_true", help="save as a new version of an existing writer")
    def cmd_writer(self, args: Any, cell: str | None) -> Any:
        """Create a writer (storage -> PostgreSQL, MySQL, Snowflake, BigQuery or S3 files) from a YAML cell body.

        ::

            %%keboola writer to-dwh
            connection: dwh                       # a postgresql, mysql or snowflake connection
            schema: public                        # optional; PostgreSQL only
            tables:
              - table: in.c-shop-orders.orders
                db_name: orders                   # optional; default: the table name
                incremental: true                 # optional; upsert by primary_key
                primary_key: [id]                 # optional; default: the storage table's
                changed_since: adaptive           # optional; only rows imported since the last write
                columns: [id, amount]             # optional; default: all

        For an S3 connection, each table becomes a CSV file under the prefix (overwritten each run)::

            connection: exports                   # an s3:// connection
            prefix: exports/daily/                # optional; default: the connection's
            tables:
              - table: in.c-crm.activity
                file: activity.csv                # optional; default <table>.csv; written as plain CSV
                changed_since: adaptive           # optional
        """
        if not cell or not cell.strip():
            raise UsageError("%%keboola writer needs a YAML body in the cell (see %keboola writer --help)")
        project = session_project()
        config = project.writers.create_from_yaml(args.name, cell, replace=args.replace)
        print(f"saved {config.component_id} {config.name!r} (id {config.id}, version {config.version})")
        return project.writers.summary(config)

    cmd_writer.takes_cell = True  # type: ignore[attr-defined]

    # transformations ---------------------------------------------------------------------------
    @magic_arguments()
    @argument("name", help="transformation name, e.g. daily_revenue")
    @argument("--dialect", default="duckdb",
              help="the SQL's dialect: duckdb (default), snowflake, bigquery, or postgres, mysql, ... (kept as DuckDB)")
    @_transformation_arguments
    def cmd_sql(self, args: Any, cell: str | None) -> Any:
        """Create a SQL transformation from the cell, check it against storage, run it and preview its outputs.

        ::

            %%keboola sql daily_revenue --in in.c-shop.orders --out out.c-sales.daily_revenue
            CREATE TABLE daily_revenue AS
            SELECT order_date, SUM(amount) AS revenue FROM orders GROUP BY order_date;

        Inside the code an input is named by the last part of its id unless given (--in in.c-shop.orders AS o);
        an output is the table named like the last part of its id unless given (--out daily AS out.c-sales.x).
        """
        return self._transformation("sql", "SQL", args, cell, dialect=args.dialect)

    cmd_sql.takes_cell = True  # type: ignore[attr-defined]

    @magic_arguments()
    @argument("name", help="transformation name, e.g. clean_orders")
    @argument("--packages", help="pip packages Keboola installs before it runs, comma-separated")
    @_transformation_arguments
    def cmd_python(self, args: Any, cell: str | None) -> Any:
        """Create a Python transformation from the cell and run it as Keboola does: in a subprocess, in a data
        folder with in/tables/*.csv (and manifests); what it writes to out/tables/*.csv goes to storage.

        ::

            %%keboola python clean_orders --in in.c-shop.orders --out out.c-shop.orders_clean
            import pandas as pd
            df = pd.read_csv("in/tables/orders.csv")
            df.dropna().to_csv("out/tables/orders_clean.csv", index=False)
        """
        return self._transformation("python", "Python code", args, cell, packages=_columns(args.packages))

    cmd_python.takes_cell = True  # type: ignore[attr-defined]

    # flows ---------------------------------------------------------------------------------------
    @magic_arguments()
    @argument("name", help="flow name, e.g. daily-revenue")
    @argument("--replace", action="store_true", help="save as a new version of an existing flow")
    @argument("--show", action="store_true", help="draw the flow in its editor (what a line without a body does)")
    def cmd_flow(self, args: Any, cell: str | None) -> Any:
        """Create a flow from a YAML cell body and draw it in its editor; without a body, draw the flow
        (`%keboola flow daily-revenue --show`). Click a task for its configuration card; enable or disable it,
        move it to another phase or change what its phase runs after there: each edit saves a new version.
        Run it with %keboola run.

        ::

            %%keboola flow daily-revenue
            schedule: "0 1 * * *"          # UTC unless timezone: is given
            phases:                        # phases run in this order; a phase's tasks run in parallel
              - extract: [mysql-sales, snowflake-customers]
              - transform: [daily_revenue]
              - load: [bq-daily-revenue]
            notify:
              - when: failed               # or succeeded, or a condition like "daily_revenue.status == user_error"
                email: team@example.com    # or webhook: https://...

        Phases may also be written with explicit dependencies: [{id: transform, tasks: [...], depends_on: [extract]}].
        """
        project = session_project()
        if cell and cell.strip():
            config = project.flows.create(args.name, cell, replace=args.replace)
            print(f"saved {config.component_id} {config.name!r} (id {config.id}, version {config.version})")
            for schedule in project.flows.schedules(config.name):
                print(f"schedule: {schedule.summary()}")
        from .ui.flow_editor import FlowEditor

        return FlowEditor(project.flows, args.name)

    cmd_flow.takes_cell = True  # type: ignore[attr-defined]

    @magic_arguments()
    @argument("name", help="a SQL transformation's name")
    def cmd_lineage(self, args: Any) -> Any:
        """Column-level lineage of a SQL transformation: which input columns each output column comes from."""
        from IPython.display import display

        from .ui.lineage import lineage_picture

        found = session_project().transformations.lineage(args.name)
        if not found:
            return self._print(f"{args.name} has no output tables")
        for output, columns in list(found.items())[:-1]:
            display(lineage_picture(columns, output))
        output, columns = list(found.items())[-1]
        return lineage_picture(columns, output)

    @magic_arguments()
    @argument("name", help="a SQL transformation's name")
    def cmd_portability(self, args: Any) -> Any:
        """Whether a SQL transformation also transpiles to DuckDB, Snowflake and BigQuery; where not, why."""
        return session_project().transformations.portability(args.name)

    def _transformation(self, language: str, code: str, args: Any, cell: str | None, **extra: Any) -> Any:
        """%%keboola sql / python: create the transformation from the cell with the options they share
        (`_transformation_arguments`) and `extra` (the language's own), then run it."""
        if not cell or not cell.strip():
            raise UsageError(f"%%keboola {language} needs {code} in the cell body (see %keboola {language} --help)")
        create = getattr(session_project().transformations, f"create_{language}")
        config = create(args.name, cell, inputs=_tables(args.inputs), outputs=_tables(args.outputs),
                        incremental=args.incremental, primary_key=_columns(args.pk),
                        variables=_variables(args.variables), replace=args.replace, **extra)
        return self._saved_and_run(config, args.save_only)

    def _saved_and_run(self, config: Any, save_only: bool) -> Any:
        from IPython.display import display

        from .ui.progress import NotebookProgress

        project = session_project()
        print(f"saved {config.component_id} {config.name!r} (id {config.id}, version {config.version})")
        if save_only:
            return project.transformations.summary(config)
        job = project.run(config, progress=NotebookProgress(f"run {config.name}"))
        if job.status == "error":
            display(job)
            raise UsageError(f"job {job.id} failed: {job.error}")
        for table in job.tables[:-1]:
            print(f"{table['table_id']}: {table['total_rows']:,} rows")
            display(project.storage.preview(table["table_id"], 10))
        last = job.tables[-1] if job.tables else None
        if last is None:
            return job
        print(f"{last['table_id']}: {last['total_rows']:,} rows")
        return project.storage.preview(last["table_id"], 10)

    @magic_arguments()
    @argument("id", nargs="?", help="a component id: its rules and an example body")
    def cmd_components(self, args: Any) -> Any:
        """The Keboola components this kernel can build and run (plug-ins included)."""
        from . import components

        if args.id:
            import yaml

            component = components.get(args.id)
            print(f"{component.id}: {component.label} (for {component.connection_kind} connections)")
            for rule in component.help.get("rules", []):
                print(f"  - {rule}")
            example = dict(component.help.get("example", {}))
            if example:
                print(f"\n%%keboola {component.type} {example.pop('name', 'NAME')}\n"
                      + yaml.safe_dump(example, sort_keys=False, allow_unicode=True).rstrip())
            return None
        import pandas as pd

        return pd.DataFrame(components.listing())

    @magic_arguments()
    def cmd_configs(self, args: Any) -> Any:
        """List the configurations in the project."""
        from .ui.display import configs_frame

        return configs_frame(session_project().configs.list())

    @magic_arguments()
    @argument("name", help="configuration name or id")
    @argument("--versions", action="store_true", help="list the versions")
    @argument("--diff", nargs=2, type=int, metavar=("A", "B"), help="show what changed between versions A and B")
    @argument("--rollback", type=int, metavar="N", help="make version N the current one (as a new version)")
    @argument("--delete", action="store_true", help="delete the configuration")
    def cmd_config(self, args: Any) -> Any:
        """Show a configuration's Keboola JSON; list versions, diff them, or roll back."""
        from .ui.display import config_json, versions_frame

        configs = session_project().configs
        if args.versions:
            return versions_frame(configs.versions(args.name))
        if args.diff:
            from IPython.display import Code

            return Code(configs.diff(args.name, *args.diff) or "(no differences)", language="diff")
        if args.rollback is not None:
            config = configs.rollback(args.name, args.rollback)
            print(f"{config.name!r} is now version {config.version} (a copy of version {args.rollback})")
            return config_json(config)
        if args.delete:
            configs.delete(args.name)
            print(f"configuration {args.name!r} deleted")
            return None
        return config_json(configs.get(args.name))

    # running ---------------------------------------------------------------------------------
    @magic_arguments()
    @argument("name", help="configuration name or id")
    @argument("--row", action="append", help="run only this row (table); repeat for several")
    @argument("--resume", type=int, metavar="JOB_ID",
              help="a flow's failed job: run the flow again from its first phase that did not succeed")
    def cmd_run(self, args: Any) -> Any:
        """Run a configuration into storage with a progress bar; shows the resulting Job. A flow is drawn and its
        tasks coloured as they run."""
        project = session_project()
        config = project.configs.get(args.name)
        if project.flows.is_flow(config.component_id):
            from .ui.flow_graph import flow_graph
            from .ui.flow_progress import FlowProgress

            progress: Any = FlowProgress(f"run {config.name}", flow_graph(project.flows, config.name))
        else:
            from .ui.progress import NotebookProgress

            progress = NotebookProgress(f"run {config.name}")
        job = project.run(config, rows=args.row, progress=progress, resume=args.resume)
        if job.status == "error":
            from IPython.display import display

            display(job)
            raise UsageError(f"job {job.id} failed: {job.error}")
        return job

    @magic_arguments()
    @argument("--limit", type=int, default=20)
    def cmd_jobs(self, args: Any) -> Any:
        """Recent jobs: status, duration, rows, error."""
        return session_project().jobs.list(args.limit)

    @magic_arguments()
    @argument("id", type=int)
    def cmd_job(self, args: Any) -> Any:
        """One job with its tables and log."""
        return session_project().jobs.get(args.id)

    # storage ---------------------------------------------------------------------------------
    @magic_arguments()
    @argument("table", nargs="?", help="a table id to preview, e.g. in.c-shop-orders.orders")
    @argument("--limit", type=int, default=100)
    def cmd_storage(self, args: Any) -> Any:
        """Storage tables (id, rows, size, last import); with a table id, its first rows."""
        storage = session_project().storage
        return storage.preview(args.table, args.limit) if args.table else storage.tables()

    @magic_arguments()
    @argument("sql", nargs="*", help="a SELECT (or put it in the cell body with %%%%keboola query)")
    @argument("--limit", type=int, default=1000, help="rows to return (default 1000)")
    def cmd_query(self, args: Any, cell: str | None) -> Any:
        """Run a read-only SQL query over storage (DuckDB); table ids like in.c-shop.orders work as written."""
        sql = cell if cell and cell.strip() else " ".join(args.sql)
        if not sql.strip():
            raise UsageError("%%keboola query needs a SELECT in the cell body")
        return session_project().storage.select(sql, max(0, args.limit))

    cmd_query.takes_cell = True  # type: ignore[attr-defined]
    cmd_query.keeps_quotes = True  # type: ignore[attr-defined]

    # the assistant -----------------------------------------------------------------------------
    @magic_arguments()
    @argument("--resume", metavar="ID", help="continue a stored conversation (see %%keboola history)")
    @argument("--new", action="store_true", help="start a new conversation")
    @argument("--model", help="use this model for every turn (default: chosen per turn, see ai/models.json)")
    @argument("--inline", action="store_true", help="show the panel in this cell instead of the right sidebar")
    def cmd_chat(self, args: Any) -> Any:
        """Open the assistant's chat panel (right sidebar in JupyterLab). Works without an API key: /help."""
        global _chat
        from .ui.chat import ChatSession
        from .ui.notebook import open_in_sidebar

        project = session_project()
        if args.resume:
            project.conversations.require(args.resume)
        if _chat is None or args.new or args.resume or args.model:
            if _chat is not None:
                _chat.on_stop()  # the old session's answer must not go on unseen
            _chat = ChatSession(project, conversation_id=args.resume, model=args.model)
            if args.resume:
                _chat.resume()
        if args.inline:
            _chat.auto_insert = False  # the cell below the panel may not be where the user wants code
            return _chat.panel
        if not _chat.in_sidebar:
            _chat.in_sidebar = open_in_sidebar(_chat.panel, "Keboola")
        if not _chat.in_sidebar:
            return _chat.panel
        print("The chat is open in the right sidebar. No sidebar (classic Notebook, VS Code)? "
              "Use %keboola chat --inline.")
        return None

    @magic_arguments()
    @argument("question", nargs="*", help="the question (or put it in the cell body with %%%%keboola ask)")
    @argument("--new", action="store_true", help="forget the earlier questions of this kernel")
    @argument("--model", help="use this model")
    def cmd_ask(self, args: Any, cell: str | None) -> Any:
        """Ask the assistant; the answer streams here and generated code goes into a new cell below."""
        global _asker
        from .ai.agent import Agent
        from .ai.client import KEY_HELP, has_key
        from .ui.cell_view import CellView

        question = cell if cell and cell.strip() else " ".join(args.question)
        if not question.strip():
            raise UsageError("%%keboola ask needs a question in the cell body")
        if not has_key():
            raise UsageError(f"no Anthropic API key: {KEY_HELP}")
        view = CellView()
        if _asker is None or args.new or args.model:
            _asker = Agent(session_project(), view, model=args.model)
        _asker.view = view
        _asker.send(question)
        print(f"[{view.info}]")

    cmd_ask.takes_cell = True  # type: ignore[attr-defined]

    @magic_arguments()
    @argument("id", nargs="?", help="conversation id (default: the current chat, else the last %%%%keboola ask), "
                                    "or a BigQuery extractor's name: its dry-run estimate")
    def cmd_cost(self, args: Any) -> Any:
        """Tokens and dollars per model call and for the whole conversation; for a BigQuery extractor, what a run
        would bill (dry runs) against the budget."""
        config = session_project().configs.find(args.id) if args.id else None
        if config is not None:
            from . import components

            estimate = components.get(config.component_id).estimate(config)
            if estimate is None:
                raise UsageError(f"{args.id!r} is a {config.component_id} configuration, which cannot tell a run's "
                                 "cost before it runs (BigQuery extractors can)")
            print(estimate.summary() + (" - OVER BUDGET: a run would stop" if estimate.over_budget else ""))
            return estimate.frame()
        store = session_project().conversations
        conversation = args.id or _current_conversation()
        if conversation is None:
            raise UsageError("no conversation yet in this kernel; pass an id from %keboola history")
        session_project().conversations.require(conversation)
        total = store.total(conversation)
        print(f"conversation {conversation}: {total.prompt_tokens:,} prompt tokens "
              f"({total.cache_read:,} read from cache, {total.cache_write:,} written to it), "
              f"{total.output_tokens:,} output tokens, ${total.cost_usd:.4f}")
        return store.turns(conversation)

    @magic_arguments()
    @argument("id", nargs="?", help="show this conversation's messages and tool calls")
    @argument("--limit", type=int, default=20)
    def cmd_history(self, args: Any) -> Any:
        """Past conversations with the assistant (resume one with %keboola chat --resume ID)."""
        store = session_project().conversations
        if not args.id:
            return store.list(args.limit)
        for message in store.messages(args.id):
            for block in message["content"]:
                if block.get("type") == "text":
                    print(f"{message['role']}: {block['text']}\n")
                elif block.get("type") == "tool_use":
                    print(f"  -> {block['name']}({block['input']})")
        return store.tool_calls(args.id)


def _tables(groups: list[list[str]]) -> list[str]:
    """`--in a AS x b --in c` -> ["a AS x", "b", "c"]."""
    words = [w for group in groups for w in group]
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 2 < len(words) and words[i + 1].upper() == "AS":
            out.append(f"{words[i]} AS {words[i + 2]}")
            i += 3
        else:
            out.append(words[i])
            i += 1
    return out


def _variables(pairs: list[str]) -> dict[str, str] | None:
    """--var a=1 --var b=x -> {"a": "1", "b": "x"}; None when none is given (existing variables stay)."""
    if not pairs:
        return None
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {pair!r}: write it as NAME=VALUE")
        values[name.strip()] = _unquoted(value)  # --var start="2024-01-01" means 2024-01-01
    return values


def _columns(text: str | None) -> list[str]:
    """--pk a,b -> ["a", "b"]."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def split_arguments(line: str, unquote: bool = True) -> list[str]:
    """The words of a magic's line, split at spaces outside quotes. A word that is one quoted string loses its
    quotes (`"Sales Data.Order Items"`, `'a b'`) unless `unquote` is off (SQL keeps its literals); quotes inside
    a word stay, so that table names keep theirs: `"Sales Data"."Order Items"` and `sales."Order Items"` reach
    the connector as typed."""
    from .errors import KeboolaError

    words: list[str] = []
    word, quote, started = "", "", False
    for char in line:
        if quote:
            word += char
            quote = "" if char == quote else quote
        elif char in "\"'":
            word, quote, started = word + char, char, True
        elif char.isspace():
            if started:
                words.append(word)
            word, started = "", False
        else:
            word, started = word + char, True
    if quote:
        raise KeboolaError(f"a quote ({quote}) is not closed in: {line.strip()}", fix="close it, or leave the quotes out")
    if started:
        words.append(word)
    return [_unquoted(w) for w in words] if unquote else words


def _unquoted(word: str) -> str:
    """`"a b"` -> `a b`, when the quotes enclose the whole word and nothing inside closes them."""
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'" and word[0] not in word[1:-1]:
        return word[1:-1]
    return word


def _current_conversation() -> str | None:
    for holder in (_chat, _asker):
        if holder is not None and holder.conversation_id:
            return holder.conversation_id
    return None


# Help should read "%keboola run ...", not the method name.
for _name in dir(KeboolaMagics):
    if _name.startswith("cmd_"):
        getattr(KeboolaMagics, _name).parser.prog = f"keboola {_name[4:].replace('_', '-')}"  # IPython adds the %
