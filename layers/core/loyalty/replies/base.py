"""The base of every reply model, and the wire format of times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A UTC instant on the wire: "2026-11-22T10:15:00Z" (whole seconds, always Z).
Instant = Annotated[datetime, PlainSerializer(iso, return_type=str),
                    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-22T10:15:00Z"]})]


# A field that is left out of the reply when it is None: the program rules' fields, absent when unused.
OMITTED_WHEN_NONE = Field(default=None, exclude_if=lambda value: value is None)


class Reply(BaseModel):
    # defer_build: each model's validator and serializer are built on its first use, not at every cold import.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True,
                              defer_build=True)

    def wire(self) -> dict:
        """The JSON-ready dict the client receives: camelCase, times as ISO strings, nulls kept."""
        return self.model_dump(mode="json", by_alias=True)


class Health(Reply):
    status: str = "ok"
