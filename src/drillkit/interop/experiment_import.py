"""Wrap a Chaos Toolkit experiment as a drill: its method as the fault, its hypothesis as probes.

The experiment is copied to ``experiments/`` (unless it is already there)
and the drill's fault step is a ``chaostoolkit`` fault referencing it, so
``chaos run`` and ``drill run`` keep using the same file. Steady-state
probes become drill probe steps before the fault (the baseline) and after it
(recovered within ``--within``) where a drillkit probe measures the same
thing:

- ``http`` providers become ``http`` probes (URL, method, headers; an integer
  or list tolerance becomes the expected status codes);
- ``chaosk8s.pod.probes.pods_in_phase`` with phase Running and
  ``chaosk8s.deployment.probes.deployment_available_and_healthy`` become
  ``workload-ready`` probes.

Anything else is not mapped, and the result says so, naming each probe, so a
person can add the drill probe that proves the same thing. ``${name}``
references to the experiment's configuration are replaced by its literal or
env default, as ``chaos run`` would with nothing set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

IMPORT_LABEL = "drillkit.io/imported-from"
_SLUG = re.compile(r"[^a-z0-9]+")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class ImportedDrill:
    """The drill document and what could not be carried over."""

    document: dict[str, Any]
    mapped: list[str] = field(default_factory=list)
    not_mapped: list[str] = field(default_factory=list)


def drill_name(title: str, fallback: str) -> str:
    """A drill name from the experiment's title: lowercase, digits and '-', at most 63."""
    slug = _SLUG.sub("-", title.lower()).strip("-")[:63].strip("-")
    return slug or fallback


def experiment_to_drill(
    experiment: dict[str, Any],
    *,
    name: str,
    experiment_ref: str,
    owner: str,
    tier: int,
    within: str,
) -> ImportedDrill:
    """The drill that runs ``experiment`` (at ``experiment_ref``) as its fault step."""
    configuration = _defaults(experiment.get("configuration") or {})
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    probes: list[tuple[str, dict[str, Any]]] = []
    result = ImportedDrill({})
    for activity in hypothesis.get("probes") or []:
        probe_name = str(activity.get("name") or "probe")
        probe = _probe(activity, configuration)
        if probe is None:
            provider = activity.get("provider") or {}
            where = ".".join(str(provider.get(k)) for k in ("module", "func") if provider.get(k))
            result.not_mapped.append(
                f"{probe_name} ({provider.get('type', '?')}{': ' + where if where else ''})"
            )
            continue
        result.mapped.append(f"{probe_name} -> {probe['type']} probe")
        probes.append((drill_name(probe_name, "probe"), probe))
    steps: list[dict[str, Any]] = [
        {"name": f"before-{step_name}"[:63], "probe": probe} for step_name, probe in probes
    ]
    steps.append(
        {
            "name": "run-experiment-method",
            "description": f"The method of the Chaos Toolkit experiment {experiment_ref}.",
            "fault": {"type": "chaostoolkit", "experiment": experiment_ref},
        }
    )
    steps += [
        {"name": f"after-{step_name}"[:63], "probe": probe, "within": within}
        for step_name, probe in probes
    ]
    description = str(experiment.get("description") or experiment.get("title") or "")
    spec: dict[str, Any] = {
        "objectives": {},
        "targets": ["*"],
        "steps": steps,
    }
    namespaces = sorted({p["namespace"] for _, p in probes if isinstance(p.get("namespace"), str)})
    if namespaces:
        spec["scope"] = {"namespaces": namespaces}
    http = next((p for _, p in probes if p["type"] == "http"), None)
    if http is not None:
        spec["objectives"] = {"rto": within}
        spec["measure"] = {"rto": {"probe": http, "interval": "1s", "stableFor": 3}}
    result.document = {
        "apiVersion": "drillkit.io/v1",
        "kind": "Drill",
        "metadata": {
            "name": name,
            "version": "1.0.0",
            "owner": owner,
            "tier": tier,
            "description": description,
            "labels": {IMPORT_LABEL: "chaostoolkit"},
        },
        "spec": spec,
    }
    return result


def _probe(activity: dict[str, Any], configuration: dict[str, str]) -> dict[str, Any] | None:
    provider = _substitute(activity.get("provider") or {}, configuration)
    kind = provider.get("type")
    if kind == "http" and isinstance(provider.get("url"), str):
        probe: dict[str, Any] = {"type": "http", "url": provider["url"]}
        method = str(provider.get("method", "GET")).upper()
        if method != "GET":
            probe["method"] = method
        if isinstance(provider.get("headers"), dict):
            probe["headers"] = {str(k): str(v) for k, v in provider["headers"].items()}
        tolerance = activity.get("tolerance")
        if isinstance(tolerance, int) and not isinstance(tolerance, bool):
            probe["expect"] = {"status": [tolerance]}
        elif isinstance(tolerance, list) and all(isinstance(t, int) for t in tolerance):
            probe["expect"] = {"status": list(tolerance)}
        if isinstance(provider.get("timeout"), int | float):
            probe["timeout"] = f"{provider['timeout']}s"
        return probe
    if kind != "python":
        return None
    function = f"{provider.get('module')}.{provider.get('func')}"
    arguments = provider.get("arguments") or {}
    namespace = arguments.get("ns", "default")
    if function == "chaosk8s.pod.probes.pods_in_phase" and arguments.get("phase") == "Running":
        selector = _selector(arguments.get("label_selector"))
        if selector is None:
            return None
        return {"type": "workload-ready", "namespace": namespace, "selector": selector}
    if function == "chaosk8s.deployment.probes.deployment_available_and_healthy":
        if not isinstance(arguments.get("name"), str):
            return None
        return {"type": "workload-ready", "namespace": namespace, "workloads": [arguments["name"]]}
    return None


def _selector(text: Any) -> dict[str, str] | None:
    """``app=orders-api,tier=web`` -> a label map; None for set-based selectors."""
    if not isinstance(text, str) or not text:
        return None
    labels = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or "!" in key or value.startswith("=") or " " in part.strip():
            return None
        labels[key.strip()] = value.strip()
    return labels


def _defaults(configuration: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in configuration.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            values[key] = str(value)
        elif isinstance(value, dict) and value.get("type") == "env" and "default" in value:
            values[key] = str(value["default"])
    return values


def _substitute(value: Any, configuration: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: configuration.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, configuration) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, configuration) for v in value]
    return value
