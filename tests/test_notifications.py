"""The SMTP server of a project's email notifications is a project setting (`%keboola smtp`), kept locally with the
password as a vault reference; an environment variable overrides each part. Checked against a local SMTP server
that requires a login."""

from __future__ import annotations

import json

import pytest
from flow_fixtures import split_orders
from servers import free_port

SMTP_PASSWORD = "canary-Smtp-5e1f09"


@pytest.fixture
def mailbox(monkeypatch):
    """A local SMTP server that takes mail only after a login as etl with SMTP_PASSWORD: (port, mails, logins)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    for variable in ("HOST", "PORT", "FROM", "USER", "PASSWORD", "TLS"):
        monkeypatch.delenv(f"KEBOOLA_NB_SMTP_{variable}", raising=False)
    mails: list[tuple[str, list[str], str]] = []
    logins: list[tuple[str, str]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            if not session.authenticated:
                return "530 Authentication required"
            mails.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        ok = auth_data.login == b"etl" and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    yield port, mails, logins
    controller.stop()


def test_the_projects_smtp_server_sends_the_flows_mail_and_keeps_only_a_reference(ip, project, mailbox,
                                                                                  monkeypatch, capsys):
    port, mails, logins = mailbox
    split_orders(project)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    ip.run_line_magic("keboola", f"smtp 127.0.0.1:{port} --from etl@example.com --user etl "
                                 f"--password-var SMTP_PASSWORD")
    shown = capsys.readouterr().out
    assert f"through 127.0.0.1:{port} as etl (password: {{{{ vault.SMTP_PASSWORD }}}}), from etl@example.com" in shown
    assert "note: without TLS (--tls) the SMTP password travels unencrypted" in shown
    saved = (project.local / "settings.json").read_text()
    assert json.loads(saved)["smtp"]["password"] == "{{ vault.SMTP_PASSWORD }}" and SMTP_PASSWORD not in saved

    project.flows.create("mailed", "phases:\n  - first: [big]\nnotify:\n  - when: succeeded\n"
                                   "    email: team@example.com\n")
    job = project.run("mailed")
    assert job.status == "success", job.error
    assert logins == [("etl", SMTP_PASSWORD)]
    assert mails and mails[0][0] == "etl@example.com" and mails[0][1] == ["team@example.com"]
    assert SMTP_PASSWORD not in "\n".join(job.log) + (project.local / "audit.jsonl").read_text()

    monkeypatch.setenv("SMTP_PASSWORD", "canary-Smtp-wrong-0d2c")  # resolved when the mail goes out
    job = project.run("mailed")
    assert job.status == "error"
    assert any(f"cannot email team@example.com: 127.0.0.1:{port} refused the login of 'etl'" in line
               for line in job.log), job.log


def test_an_environment_variable_overrides_the_setting(project, mailbox, monkeypatch):
    port, mails, _ = mailbox
    split_orders(project)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    project.settings.set_smtp("127.0.0.1:1", user="etl", password="SMTP_PASSWORD", tls=False)  # nothing listens there
    project.flows.create("mailed", "phases:\n  - first: [big]\nnotify:\n  - when: succeeded\n"
                                   "    email: team@example.com\n")
    assert project.run("mailed").status == "error"
    monkeypatch.setenv("KEBOOLA_NB_SMTP_PORT", str(port))
    job = project.run("mailed")
    assert job.status == "success", job.error
    assert len(mails) == 1 and mails[0][0] == "keboola-nb@localhost"


@pytest.mark.parametrize("line, message", [
    ("smtp mail.example.com:abc", "the port must be a number from 1 to 65535"),
    ("smtp 'bad host'", "is not an SMTP server"),
    ("smtp mail.example.com:70000", "the port must be a number from 1 to 65535"),
    ("smtp mail.example.com --password-var X", "an SMTP password needs a user"),
])
def test_smtp_mistakes_are_named_and_nothing_is_saved(ip, project, line, message):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as error:
        ip.run_line_magic("keboola", line)
    assert message in str(error.value)
    assert not (project.local / "settings.json").exists()


def test_without_a_server_the_magic_says_how_to_set_one(ip, capsys, monkeypatch):
    ip.run_line_magic("keboola", "smtp")
    assert "no SMTP server is set: %keboola smtp HOST[:PORT]" in capsys.readouterr().out


def test_an_ipv6_server_a_password_not_set_here_and_a_port_that_is_not_a_number(project, monkeypatch, capsys):
    from keboola_nb.errors import notices

    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    with notices() as said:
        smtp = project.settings.set_smtp("[::1]:2525", user="etl", password="NOT_SET_HERE", tls=True)
    assert (smtp["host"], smtp["port"], smtp["tls"]) == ("::1", 2525, True)
    assert said == ["{{ vault.NOT_SET_HERE }} is not set on this machine yet: set it before a flow sends mail "
                    "(the password is looked up then)"]
    split_orders(project)
    project.flows.create("mailed", "phases:\n  - first: [big]\nnotify:\n  - when: succeeded\n"
                                   "    email: team@example.com\n")
    monkeypatch.setenv("KEBOOLA_NB_SMTP_PORT", "587x")
    job = project.run("mailed")
    assert job.status == "error"
    assert any("the SMTP port '587x' is not a number" in line for line in job.log), job.log
