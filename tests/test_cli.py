"""The keboola-nb command line, as cron would run it: the installed script in a fresh process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def keboola_nb(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = shutil.which("keboola-nb", path=str(Path(sys.executable).parent))
    assert script, "pip did not install the keboola-nb script next to this Python"
    return subprocess.run([script, *args], capture_output=True, text=True, env=env)


def test_run_from_the_command_line(project, shop):
    project.extractors.create("shop-customers", "shop", ["public.customers"])
    env = {**os.environ, "KEBOOLA_NB_PROJECT": str(project.root)}
    done = keboola_nb("--json", "run", "shop-customers", env=env)
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "success" and job["rows"] == {"in.c-shop-customers.customers": 50}
    assert project.jobs.get(job["id"]).actor == "cli"
    tables = json.loads(keboola_nb("--json", "storage", env=env).stdout)
    assert [t["id"] for t in tables] == ["in.c-shop-customers.customers"]
    assert "shop-customers" in keboola_nb("configs", env=env).stdout


def test_failures_set_the_exit_code(project, shop, tmp_path):
    project.extractors.create("shop-customers", "shop", ["public.customers"])
    env = {**os.environ, "KEBOOLA_NB_PROJECT": str(project.root), "SHOP_PG_PASSWORD": "wrong"}
    failed = keboola_nb("run", "shop-customers", env=env)
    assert failed.returncode == 1 and "error" in failed.stdout
    missing = keboola_nb("--project", str(tmp_path / "nowhere"), "jobs", env=env)
    assert missing.returncode == 2 and "is not a keboola_nb project" in missing.stderr
    unknown = keboola_nb("run", "nope", env={**env, "SHOP_PG_PASSWORD": ""})
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_components_are_listed_from_the_registry(tmp_path):
    env = {**os.environ, "KEBOOLA_NB_PROJECT": str(tmp_path / "no-project-here")}  # none is needed
    listed = keboola_nb("--json", "components", env=env)
    assert listed.returncode == 0, listed.stderr
    by_id = {c["id"]: c for c in json.loads(listed.stdout)}
    assert by_id["keboola.ex-aws-s3"] == {"id": "keboola.ex-aws-s3", "type": "extractor", "label": "AWS S3 extractor",
                                          "connection_kind": "s3"}
    assert {c["type"] for c in by_id.values()} == {"extractor", "writer", "transformation", "other"}
