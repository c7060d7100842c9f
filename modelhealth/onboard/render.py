"""A starting register as YAML, with a comment on every inferred number.

The text is written by hand rather than dumped, so the comments can say where each
column name and each limit came from; scalars go through :func:`yaml.safe_dump` so any
column name or model id is quoted correctly. The result is validated by
:func:`thresholds.loader.parse_register` before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from modelhealth.onboard.infer import Inferred, Limit, ModelProposal

__all__ = ["render_register"]


def _scalar(value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    return text.removesuffix("\n...\n").strip()


def _flow(values: Sequence[str]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def _limits_tree(limits: Sequence[Limit]) -> dict[str, list[Limit]]:
    tree: dict[str, list[Limit]] = {}
    for limit in limits:
        parts = limit.path.split(".")
        assert parts[0] == "thresholds" and len(parts) == 3, limit.path
        tree.setdefault(parts[1], []).append(limit)
    return tree


def _model(proposal: ModelProposal, inferred: Inferred, quality_metric: str | None) -> list[str]:
    lines = [f"  - id: {_scalar(proposal.model_id)}"]
    lines.append(f"    # {proposal.rows:,} rows of the sample")
    lines.append("    owner: CHANGE-ME          # who signs off this model's thresholds")
    if proposal.output_types:
        lines.append(f"    output_types: {_flow(proposal.output_types)}")
    if proposal.segments:
        lines.append(f"    # segments seen: {', '.join(proposal.segments)}")
    for note in proposal.notes:
        lines.append(f"    # {note}")
    lines.append("    thresholds:")
    tree = _limits_tree(proposal.limits)
    if "quality" not in tree:
        lines.append("      quality: null        # no labels in the sample: see the note above")
    for group, limits in sorted(tree.items(), key=lambda item: item[0] != "quality"):
        lines.append(f"      {group}:")
        if group == "quality":
            lines.append(f"        metric: {quality_metric or proposal.quality_metric}")
        for limit in limits:
            leaf = limit.path.rsplit(".", 1)[1]
            lines.append(f"        {leaf}: {_scalar(limit.value)}")
            lines.append(f"        # ↑ {limit.why}")
    return lines


def render_register(inferred: Inferred, *, name: str, source: str) -> str:
    """Register YAML for ``inferred`` (from the sample at ``source``), comments included."""
    lines = [
        f"# Starting register written by `modelhealth init` from {source}",
        f"# ({inferred.rows:,} sample rows). Every number below came from that sample: read the",
        "# comment under it, change what your team decides, then sign it off with",
        "#   modelhealth thresholds validate <this file>",
        "#   modelhealth thresholds render <this file> --format md",
    ]
    if inferred.unknown:
        lines.append("#")
        lines.append("# Could not infer (fill these in by hand):")
        lines += [f"#   - {text}" for text in inferred.unknown]
    if inferred.unused:
        lines.append("#")
        lines.append(f"# Log columns not used: {', '.join(inferred.unused)}")
    lines += [f"name: {_scalar(name)}", "", "defaults:"]
    mapped = {k: v for k, v in inferred.columns.items() if k != v}
    if mapped or (inferred.feature_prefix not in (None, "feature.")):
        lines.append("  # Where the contract's columns are in these logs (docs/log-contract.md).")
        lines.append("  columns:")
        for field_name, column in mapped.items():
            lines.append(f"    {field_name}: {_scalar(column)}")
        if inferred.feature_prefix not in (None, "feature."):
            lines.append(f"    feature_prefix: {_scalar(inferred.feature_prefix)}")
    ingest: list[str] = []
    if inferred.latency_unit != "ms":
        ingest += [
            f"    latency_unit: {inferred.latency_unit}",
            f"    # ↑ {inferred.latency_unit_why}",
        ]
    if inferred.status_column is not None:
        ingest += [
            "    error_from_status:",
            f"      column: {_scalar(inferred.status_column)}",
            f"      failing: {_flow(inferred.failing)}",
            f"      # ↑ the values of {inferred.status_column!r} that read as failures",
        ]
    if inferred.naive_timestamps:
        ingest += [
            f"    # {inferred.naive_timestamps:,} sample timestamps have no time zone: they are",
            "    # taken as UTC. If they are local time, say which zone:",
            "    # timezone: Europe/Berlin",
        ]
    if ingest:
        lines.append("  # How these logs differ from the contract beyond names.")
        lines.append("  ingest:")
        lines += ingest
    lines += ["", "models:"]
    for proposal in inferred.models:
        lines += _model(proposal, inferred, None)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
