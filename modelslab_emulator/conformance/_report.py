"""The Markdown report of a conformance run."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata


@dataclass
class ProbeResult:
    """One probe's outcome: both statuses, the differences, and where the recordings went."""

    name: str
    purpose: str
    target_status: str
    reference_status: str
    differences: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)


def render(
    results: list[ProbeResult],
    *,
    target: str,
    models: list[str],
    when: str,
    cost: str,
    unknown: list[str] | None = None,
    label: str = "target",
    host: tuple[str, list[str]] | None = None,
) -> str:
    """The report: a header, a summary table, then every probe's differences."""
    differing = [r for r in results if r.differences]
    lines = [
        "# ModelsLab conformance report",
        "",
        f"- When: {when}",
        f"- Target: {target}",
        f"- Reference: the bundled emulator (`modelslab_emulator`, {_version()}), same requests",
        f"- Models: {', '.join(f'`{m}`' for m in models) or 'none named'}",
        f"- Probes: {len(results)}; cost: {cost}",
        f"- Result: {_verdict(results, differing)}",
    ]
    lines += [
        f"- Note: the emulator does not serve `{m}`; its probes compare against a 404"
        for m in unknown or []
    ]
    if host is not None:
        lines.append(
            f"- Host profile: {host[0]} (vllm, openrouter or unknown; from the host probes)"
        )
        lines += [f"  - {line}" for line in host[1]]
    lines += [
        "",
        "Only shapes are compared (fields at JSON paths, SSE framing, where usage and",
        "reasoning arrive, tool-call fragments, error bodies, retry hints), never values.",
        "",
        f"| probe | {label} status | emulator status | differences |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        count = str(len(r.differences)) if r.differences else "none"
        lines.append(f"| `{r.name}` | {r.target_status} | {r.reference_status} | {count} |")
    for r in results:
        lines += ["", f"## `{r.name}`", "", f"Probe: {r.purpose}.", ""]
        if r.differences:
            lines += [f"- {d}" for d in r.differences]
        else:
            lines.append("No differences.")
        if r.recordings:
            lines += ["", "Recorded: " + ", ".join(f"`{p}`" for p in r.recordings)]
    return "\n".join(lines) + "\n"


def _version() -> str:
    try:
        return "modelslab-integrations " + metadata.version("modelslab-integrations")
    except metadata.PackageNotFoundError:
        return "version unknown"


def _verdict(results: list[ProbeResult], differing: list[ProbeResult]) -> str:
    if not differing:
        return "no differences"
    total = sum(len(r.differences) for r in differing)
    return f"{total} differences in {len(differing)} of {len(results)} probes"
