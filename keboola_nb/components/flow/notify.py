"""A flow's notification tasks: an email through the project's SMTP server, or a JSON POST to a webhook.

SMTP is set by environment variables, so nothing about the mail server is written into the project:
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


def send(title: str, message: str, recipients: list[dict[str, str]], details: dict[str, Any]) -> list[str]:
    """Send to every recipient; what was sent, one line each. The first failure raises, naming the recipient."""
    sent = []
    for recipient in recipients:
        channel, address = recipient.get("channel"), recipient.get("address", "")
        if channel == "email":
            _email(address, title, message, details)
        elif channel == "webhook":
            _webhook(address, title, message, details)
        else:
            raise KeboolaError(f"notification channel {channel!r} is not known", fix="use email or webhook")
        sent.append(f"{channel} to {address}")
    return sent


def _email(address: str, title: str, message: str, details: dict[str, Any]) -> None:
    import smtplib
    from email.message import EmailMessage

    host = os.environ.get("KEBOOLA_NB_SMTP_HOST")
    if not host:
        raise KeboolaError(f"cannot email {address}: no SMTP server is set",
                           fix="set KEBOOLA_NB_SMTP_HOST (and KEBOOLA_NB_SMTP_PORT, KEBOOLA_NB_SMTP_FROM) in the "
                               "kernel's environment")
    port = int(os.environ.get("KEBOOLA_NB_SMTP_PORT") or 25)
    mail = EmailMessage()
    mail["Subject"] = title
    mail["From"] = os.environ.get("KEBOOLA_NB_SMTP_FROM") or "keboola-nb@localhost"
    mail["To"] = address
    mail.set_content(f"{message}\n\n{json.dumps(details, indent=2, default=str)}\n")
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
            if os.environ.get("KEBOOLA_NB_SMTP_TLS") == "1":
                smtp.starttls()
            user = os.environ.get("KEBOOLA_NB_SMTP_USER")
            if user:
                from ...store.secrets import SecretRef, resolve

                name = os.environ.get("KEBOOLA_NB_SMTP_PASSWORD") or "KEBOOLA_NB_SMTP_SECRET"
                smtp.login(user, resolve(SecretRef(name), "the SMTP server"))
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as e:
        raise KeboolaError(f"cannot email {address} through {host}:{port}: {redact(str(e)) or type(e).__name__}",
                           fix="check KEBOOLA_NB_SMTP_HOST and KEBOOLA_NB_SMTP_PORT, and that the server is up") \
            from None


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
