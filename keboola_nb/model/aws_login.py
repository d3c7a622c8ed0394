"""How Keboola's S3 components log in to AWS: keys (`loginType: credentials`) or a role in the user's account
(`loginType: role`, `accountId` + `roleName`). Both keys empty means the standard AWS credential chain
(keboola_nb's local default; in Keboola, fill the keys in)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import KeboolaError

ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(.+)$")


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
        elif self.accountId or self.roleName:
            raise ValueError("accountId and roleName belong to loginType 'role'")
        return self


def role_node(role_arn: str) -> dict[str, Any]:
    """`arn:aws:iam::123456789012:role/reader` -> the role login fields of a connection."""
    match = ROLE_ARN.match(role_arn.strip())
    if not match:
        raise KeboolaError(f"{role_arn!r} is not an IAM role ARN", fix="write it as arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME")
    return {"loginType": "role", "accountId": match.group(1), "roleName": match.group(2)}


def login_parameters(node: dict[str, Any]) -> dict[str, Any]:
    """The login part of a Keboola S3 configuration's root, from a connection's s3 node."""
    if node.get("loginType") == "role":
        return {"loginType": "role", "accountId": node["accountId"], "roleName": node["roleName"]}
    return {"loginType": "credentials", "accessKeyId": node.get("accessKeyId", ""),
            "#secretAccessKey": node.get("#secretAccessKey", "")}
