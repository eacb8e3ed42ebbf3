"""Differences between the shape of the target's response and the emulator's."""

from __future__ import annotations

from ._shape import Shape

ABSENT = "(absent)"


def differences(target: Shape, reference: Shape, label: str = "target") -> list[str]:
    """One readable line per difference (Markdown); empty when the shapes agree."""
    lines = []
    for name in _ordered(target.features, reference.features):
        ours, theirs = target.features.get(name, ABSENT), reference.features.get(name, ABSENT)
        if ours != theirs:
            lines.append(f"**{name}**: {label} `{ours}`; emulator `{theirs}`")
    only_target = sorted(set(target.fields) - set(reference.fields))
    only_reference = sorted(set(reference.fields) - set(target.fields))
    if only_target:
        lines.append(f"**fields only in the {label}**: " + _paths(only_target, target))
    if only_reference:
        lines.append(f"**fields missing from the {label}**: " + _paths(only_reference, reference))
    for path in sorted(set(target.fields) & set(reference.fields)):
        if target.fields[path] != reference.fields[path]:
            lines.append(
                f"**field type** `{path}`: {label} `{target.fields[path]}`; "
                f"emulator `{reference.fields[path]}`"
            )
    return lines


def _ordered(a: dict[str, str], b: dict[str, str]) -> list[str]:
    names = list(a)
    names.extend(n for n in b if n not in a)
    return names


def _paths(paths: list[str], shape: Shape) -> str:
    """The outermost paths, each with its types and how many paths lie beneath it."""
    listed = []
    for path in paths:
        if any(_beneath(path, other) for other in paths):
            continue
        nested = sum(1 for other in paths if _beneath(other, path))
        extra = f", {nested} nested" if nested else ""
        listed.append(f"`{path}` ({shape.fields[path]}{extra})")
    return ", ".join(listed)


def _beneath(path: str, parent: str) -> bool:
    return path.startswith((parent + ".", parent + "[]"))
