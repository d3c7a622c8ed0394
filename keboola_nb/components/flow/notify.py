"""A flow's notification tasks: an email through the project's SMTP server, or a JSON POST to a webhook.

The SMTP server is the project's setting (`%keboola smtp`, `project.settings.set_smtp`: host, port, sender, user,
password as a vault reference, STARTTLS); an environment variable overrides each part, for a scheduler's machine:
KEBOOLA_NB_SMTP_HOST, KEBOOLA_NB_SMTP_PORT (default 25), KEBOOLA_NB_SMTP_FROM (default keboola-nb@localhost),
KEBOOLA_NB_SMTP_USER and KEBOOLA_NB_SMTP_PASSWORD (a vault name: the password is looked up like any secret),
KEBOOLA_NB_SMTP_TLS=1 for STARTTLS.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ...errors import KeboolaError
from ...store.secrets import redact

TIMEOUT_S = 10.0


def send(title: str, message: str, recipients: list[dict[str, str]], details: dict[str, Any],
         smtp: dict[str, Any] | None = None) -> list[str]:
    """Send to every recipient (email through `smtp`, the project's setting); what was sent, one line each. The
    first failure raises, naming the recipient."""
    sent = []
    for recipient in recipients:
        channel, address = recipient.get("channel"), recipient.get("address", "")
        if channel == "email":
            _email(address, title, message, details, _server(smtp or {}))
        elif channel == "webhook":
            _webhook(address, title, message, details)
        else:
            raise KeboolaError(f"notification channel {channel!r} is not known", fix="use email or webhook")
        sent.append(f"{channel} to {address}")
    return sent


def _server(smtp: dict[str, Any]) -> dict[str, Any]:
    """The project's SMTP setting with each part an environment variable sets instead."""
    env = {"host": "KEBOOLA_NB_SMTP_HOST", "port": "KEBOOLA_NB_SMTP_PORT", "sender": "KEBOOLA_NB_SMTP_FROM",
           "user": "KEBOOLA_NB_SMTP_USER", "password": "KEBOOLA_NB_SMTP_PASSWORD", "tls": "KEBOOLA_NB_SMTP_TLS"}
    server = dict(smtp)
    for key, variable in env.items():
        if os.environ.get(variable):
            server[key] = os.environ[variable] == "1" if key == "tls" else os.environ[variable]
    port = str(server.get("port") or 25)
    if not port.isdigit():
        raise KeboolaError(f"the SMTP port {port!r} is not a number",
                           fix="correct KEBOOLA_NB_SMTP_PORT, or the project's setting (%keboola smtp HOST:PORT)")
    return {**server, "port": int(port)}


def _email(address: str, title: str, message: str, details: dict[str, Any], server: dict[str, Any]) -> None:
    import smtplib
    import ssl
    from email.message import EmailMessage

    from ...store.secrets import SecretRef, resolve

    host = server.get("host")
    if not host:
        raise KeboolaError(f"cannot email {address}: no SMTP server is set",
                           fix="set the project's with %keboola smtp HOST[:PORT] or project.settings.set_smtp (or "
                               "KEBOOLA_NB_SMTP_HOST in the environment)")
    port = server["port"]
    mail = EmailMessage()
    mail["Subject"] = title
    mail["From"] = server.get("sender") or "keboola-nb@localhost"
    mail["To"] = address
    mail.set_content(f"{message}\n\n{json.dumps(details, indent=2, default=str)}\n")
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
            if server.get("tls"):
                smtp.starttls(context=ssl.create_default_context())  # the server's certificate is checked
            if server.get("user"):
                password = str(server.get("password") or "KEBOOLA_NB_SMTP_SECRET")
                ref = SecretRef.parse(password, "SMTP password") if "{{" in password else SecretRef(password)
                smtp.login(server["user"], resolve(ref, "the SMTP server"))
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError:
        raise KeboolaError(f"cannot email {address}: {host}:{port} refused the login of {server['user']!r}",
                           fix=f"check the password in {server.get('password') or 'KEBOOLA_NB_SMTP_SECRET'} and the "
                               "user") from None
    except (OSError, smtplib.SMTPException) as e:
        raise KeboolaError(f"cannot email {address} through {host}:{port}: {redact(str(e)) or type(e).__name__}",
                           fix="check the SMTP server set for the project (%keboola smtp, or KEBOOLA_NB_SMTP_HOST and "
                               "_PORT) and that it is up") from None


def _webhook(url: str, title: str, message: str, details: dict[str, Any]) -> None:
    import urllib.error
    import urllib.request

    body = json.dumps({"title": title, "message": message, **details}, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (a URL the user gave)
            if response.status >= 300:
                raise KeboolaError(f"the webhook {url} answered {response.status}")
    except urllib.error.HTTPError as e:
        raise KeboolaError(f"the webhook {url} answered {e.code}", fix="check the URL and what it accepts") from None
    except (OSError, ValueError) as e:
        raise KeboolaError(f"cannot reach the webhook {url}: {redact(str(e))}", fix="check the URL") from None
