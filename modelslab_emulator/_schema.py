"""JSON-schema instance synthesis: a value valid for a schema, filled from the prompt."""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]+?)'(?!\w)|\"([^\"\n]+?)\"|\u201c([^\u201d\n]+?)\u201d|\u2018([^\u2019\n]+?)\u2019"
)
_NAMED = re.compile(r"\b(?:in|for|of|named|called)\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 12


def schema_in_text(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that looks like an object schema (has ``properties``)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            return value
        start = text.find("{", start + 1)
    return None


def quoted_strings(text: str) -> list[str]:
    """Strings quoted in ``text`` (straight or curly quotes), in order."""
    return [next(g for g in match.groups() if g is not None) for match in _QUOTED.finditer(text)]


class ValueSource:
    """Values taken from a prompt, consumed in order as the schema asks for them."""

    def __init__(self, prompt: str) -> None:
        self._strings = deque(quoted_strings(prompt) or _NAMED.findall(prompt))
        self._numbers = deque(float(n) for n in _NUMBER.findall(prompt))

    def next_string(self) -> str:
        """The next quoted (or else capitalised, named) string, else ``"example"``."""
        return self._strings.popleft() if self._strings else "example"

    def next_number(self) -> float | None:
        """The next number of the prompt, or None."""
        return self._numbers.popleft() if self._numbers else None


def synthesize(schema: Any, source: ValueSource) -> Any:
    """A JSON value valid for ``schema`` (``$ref``/``$defs``, ``anyOf``, enums, defaults...)."""
    return _Synth(schema, source).value(schema, 0)


class _Synth:
    def __init__(self, root: Any, source: ValueSource) -> None:
        self.root = root
        self.source = source

    def resolve(self, ref: str) -> Any:
        node: Any = self.root
        if not ref.startswith("#"):
            return {}
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node

    def value(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict):
            return None if schema is False else self.source.next_string()
        if depth > _MAX_DEPTH:
            return None
        if isinstance(schema.get("$ref"), str):
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            target = self.resolve(schema["$ref"])
            return self.value({**target, **rest} if isinstance(target, dict) else rest, depth + 1)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return next((v for v in enum if v is not None), enum[0])
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                chosen = next((b for b in branches if not _is_null(b)), branches[0])
                rest = {k: v for k, v in schema.items() if k not in (key, "default")}
                merged = {**rest, **chosen} if isinstance(chosen, dict) else chosen
                return self.value(merged, depth + 1)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            return self.value(_merge_all_of(schema, all_of), depth + 1)
        kind = _kind(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, depth)
        if kind in ("integer", "number"):
            return self.number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema)

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required = schema.get("required")
        result: dict[str, Any] = {}
        for name, sub in props.items():
            if isinstance(required, list) and name not in required:
                if isinstance(sub, dict) and "default" in sub:
                    result[name] = sub["default"]
                continue
            result[name] = self.value(sub, depth + 1)
        for name in required if isinstance(required, list) else []:
            if name not in result:
                result[name] = self.source.next_string()
        return result

    def array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            return [self.value(item, depth + 1) for item in prefix]
        count = max(1, int(schema.get("minItems", 1)))
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        items = schema.get("items", {})
        if isinstance(items, list):  # draft-04 tuple form
            return [self.value(item, depth + 1) for item in items]
        return [self.value(items, depth + 1) for _ in range(count)]

    def number(self, schema: dict[str, Any], *, integer: bool) -> int | float:
        found = self.source.next_number()
        if found is None:
            default = schema.get("default")
            found = float(default) if isinstance(default, (int, float)) else 1.0
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        step = 1 if integer else 0.5
        if isinstance(low, (int, float)) and (found < low or "exclusiveMinimum" in schema):
            found = max(found, low + (step if "exclusiveMinimum" in schema else 0))
        if isinstance(high, (int, float)) and (found > high or "exclusiveMaximum" in schema):
            found = min(found, high - (step if "exclusiveMaximum" in schema else 0))
        if integer or found == int(found):
            return round(found)
        return found

    def string(self, schema: dict[str, Any]) -> str:
        fmt = schema.get("format")
        text = _FORMATS[fmt] if fmt in _FORMATS else self.source.next_string()
        min_len = schema.get("minLength")
        if isinstance(min_len, int) and len(text) < min_len:
            text = text + "x" * (min_len - len(text))
        max_len = schema.get("maxLength")
        if isinstance(max_len, int) and len(text) > max_len:
            text = text[:max_len]
        return text


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _merge_all_of(schema: dict[str, Any], parts: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key, val in part.items():
            if key == "properties" and isinstance(val, dict):
                merged["properties"] = {**merged.get("properties", {}), **val}
            elif key == "required" and isinstance(val, list):
                merged["required"] = [*merged.get("required", []), *val]
            else:
                merged.setdefault(key, val)
    return merged
