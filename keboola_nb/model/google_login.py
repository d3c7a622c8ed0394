"""Keboola's Google `service_account` object, as the BigQuery extractor and writer both hold it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceAccount(BaseModel):
    """Keboola's service_account object; with an emulator only project_id is needed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    type: str = "service_account"
    project_id: str
    private_key: str | None = Field(default=None, alias="#private_key")
    client_email: str | None = None
