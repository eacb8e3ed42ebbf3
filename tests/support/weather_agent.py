"""The weather tool and report schema both adapters' structured-agent tests hand an agent: a
tool that records each city it is asked about, and the schema the agent must end with."""

from __future__ import annotations

from pydantic import BaseModel, Field

QUESTION = "What is the weather in Paris?"

#: The cities the tool was called with, in order (tests clear it before each run).
calls: list[str] = []


def get_weather(city: str) -> str:
    """Current weather in a city."""
    calls.append(city)
    return f"sunny, 21C in {city}"


class WeatherReport(BaseModel):
    """A weather report for one city."""

    city: str = Field(description="The city")
    temperature_c: float = Field(description="Temperature in degrees Celsius")
    summary: str = Field(description="One line on the weather")
