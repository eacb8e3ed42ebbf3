"""The schema the LangChain structured-output tests ask for, as a model and as a TypedDict,
and a prompt the emulator answers with Ada, 36."""

from __future__ import annotations

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

PROMPT = 'The person is "Ada" and she is 36'


class Person(BaseModel):
    """A person."""

    name: str = Field(description="the person's name")
    age: int = Field(description="age in years")


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int
