"""How Keboola's S3 components log in to AWS: keys (`loginType: credentials`) or a role in the user's account
(`loginType: role`, `accountId` + `roleName`). Keboola refuses empty keys, so a connection without keys of its
own (the kernel's AWS credential chain) gives configurations the vault placeholders of CHAIN_VAULT: Keboola's
vault fills them in, and a local run uses them when they are set here, else the kernel's AWS chain."""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import KeboolaError
from ..store.secrets import SecretRef

ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(.+)$")
# The vault variables that stand for the kernel's AWS credential chain (named as AWS's own variables).
CHAIN_VAULT = {"accessKeyId": "AWS_ACCESS_KEY_ID", "#secretAccessKey": "AWS_SECRET_ACCESS_KEY"}
CHAIN_PLACEHOLDERS = {key: str(SecretRef(name)) for key, name in CHAIN_VAULT.items()}


class AwsLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    loginType: Literal["credentials", "role"] = "credentials"
    accessKeyId: str = ""
    secretAccessKey: str = Field(default="", alias="#secretAccessKey")
    accountId: str = ""
    roleName: str = ""

    @model_validator(mode="after")
    def _one_way_in(self) -> "AwsLogin":
        if self.loginType == "role":
            if not re.fullmatch(r"\d{12}", self.accountId) or not self.roleName:
                raise ValueError("loginType 'role' needs accountId (12 digits) and roleName")
            if self.accessKeyId or self.secretAccessKey:
                raise ValueError("loginType 'role' takes no accessKeyId or #secretAccessKey")
            return self
        if self.accountId or self.roleName:
            raise ValueError("accountId and roleName belong to loginType 'role'")
        empty = [name for name, value in (("accessKeyId", self.accessKeyId), ("#secretAccessKey", self.secretAccessKey))
                 if not value.strip()]
        if empty:
            raise ValueError(
                f"{' and '.join(empty)} must not be empty: Keboola's S3 components refuse empty keys. To log in with "
                f"the kernel's AWS credential chain here and with Keboola's vault there, set accessKeyId to "
                f"{CHAIN_PLACEHOLDERS['accessKeyId']} and #secretAccessKey to {CHAIN_PLACEHOLDERS['#secretAccessKey']}")
        return self


def role_node(role_arn: str) -> dict[str, Any]:
    """`arn:aws:iam::123456789012:role/reader` -> the role login fields of a connection."""
    match = ROLE_ARN.match(role_arn.strip())
    if not match:
        raise KeboolaError(f"{role_arn!r} is not an IAM role ARN", fix="write it as arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME")
    return {"loginType": "role", "accountId": match.group(1), "roleName": match.group(2)}


def login_parameters(node: dict[str, Any]) -> dict[str, Any]:
    """The login part of a Keboola S3 configuration's root, from a connection's s3 node; a connection without
    keys (the kernel's AWS chain) gets the vault placeholders, which Keboola fills in from its vault."""
    if node.get("loginType") == "role":
        return {"loginType": "role", "accountId": node["accountId"], "roleName": node["roleName"]}
    if not node.get("accessKeyId") and not node.get("#secretAccessKey"):
        return {"loginType": "credentials", **CHAIN_PLACEHOLDERS}
    return {"loginType": "credentials", "accessKeyId": node.get("accessKeyId", ""),
            "#secretAccessKey": node.get("#secretAccessKey", "")}


def local_login(login: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The login a local run uses (a connector node) and, when it is not the configuration's, a line for the job
    log. The CHAIN_VAULT placeholders are used when both variables are set here (environment, secret file,
    keyring); set only in the environment they are exactly what the AWS chain reads first, so the chain logs in
    (it adds AWS_SESSION_TOKEN for temporary keys). Otherwise the kernel's AWS chain logs in."""
    if any(login.get(key) != placeholder for key, placeholder in CHAIN_PLACEHOLDERS.items()):
        return login, None
    chain = {k: v for k, v in login.items() if k not in CHAIN_PLACEHOLDERS}
    names = list(CHAIN_VAULT.values())
    if all(os.environ.get(name) for name in names):
        return chain, None
    if all(SecretRef(name).where() for name in names):
        return login, None
    return chain, (f"AWS login: the vault variables {' and '.join(names)} are not both set here, so the kernel's AWS "
                   "credential chain (~/.aws files, AWS_PROFILE, SSO, an instance role) is used; in Keboola the "
                   "project's vault supplies them")

