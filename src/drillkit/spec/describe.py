"""One-line, provider-neutral descriptions of intents, for plans, lists and reports.

A plan is read by the person who must approve a drill against production:
each line says in plain words what will be done, with the numbers that
matter (how many pods, which zone, which backup, how long).
"""

from __future__ import annotations

from functools import singledispatch

from pydantic import BaseModel

from drillkit.spec import faults, probes, restores
from drillkit.spec.drill import Objectives
from drillkit.spec.duration import format_duration
from drillkit.spec.variable_redaction import redact_value


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "(all)"


@singledispatch
def describe(intent: BaseModel) -> str:
    """A one-line summary of a fault, restore or probe intent."""
    return type(intent).__name__


@describe.register
def _(intent: faults.PodKill) -> str:
    how_many = (
        f"{intent.percent}% of"
        if intent.percent is not None
        else f"{intent.count}"
        if intent.count is not None
        else "all"
    )
    choice = " chosen at random" if intent.random else ""
    return (
        f"kill {how_many} pods matching {_selector(intent.selector)} in namespace "
        f"{intent.namespace}{choice}, grace period {format_duration(intent.grace_period)}"
    )


@describe.register
def _(intent: faults.NodeFailure) -> str:
    where = f" in zone {intent.nodes.zone}" if intent.nodes.zone else ""
    which = (
        ", ".join(intent.nodes.names)
        if intent.nodes.names
        else (f"{intent.nodes.count} node(s) matching {_selector(intent.nodes.selector)}{where}")
    )
    force = " (forced past PodDisruptionBudgets)" if intent.force else ""
    return f"{intent.mode} {which}{force}"


@describe.register
def _(intent: faults.ZoneOutage) -> str:
    return f"take zone {intent.zone} out (mode {intent.mode})"


@describe.register
def _(intent: faults.RegionOutage) -> str:
    return f"take region {intent.region} out (mode {intent.mode})"


@describe.register
def _(intent: faults.NamespaceLoss) -> str:
    guard = (
        " after proving a completed backup younger than the RPO" if intent.require_backup else ""
    )
    return f"delete namespace {intent.namespace}{guard}"


@describe.register
def _(intent: faults.ChaosToolkit) -> str:
    if intent.experiment:
        return f"run Chaos Toolkit experiment {intent.experiment}"
    assert intent.activity is not None
    return f"run Chaos Toolkit {intent.activity.type} {intent.activity.name}"


@describe.register
def _(intent: restores.BackupRestore) -> str:
    source = (
        f"backup {intent.backup.name}"
        if intent.backup.name
        else f"the newest backup of schedule {intent.backup.schedule}"
    )
    return (
        f"restore namespaces {', '.join(intent.namespaces)} from {source}, "
        f"timeout {format_duration(intent.timeout)}"
    )


@describe.register
def _(intent: restores.TrafficFailover) -> str:
    record = f" ({intent.record})" if intent.record else ""
    return f"send traffic to region {intent.to}{record}, method {intent.method}"


@describe.register
def _(intent: restores.Scale) -> str:
    return (
        f"scale {intent.workload.kind} {intent.namespace}/{intent.workload.name} "
        f"to {intent.replicas} replicas"
    )


@describe.register
def _(intent: restores.WaitForRecovery) -> str:
    names = ", ".join(f"{w.kind} {w.name}" for w in intent.workloads) or (
        f"workloads matching {_selector(intent.selector)}"
    )
    return (
        f"wait until {names} in {intent.namespace} are ready, "
        f"timeout {format_duration(intent.timeout)}"
    )


@describe.register
def _(intent: probes.HttpProbe) -> str:
    statuses = "/".join(str(s) for s in intent.expect.status)
    latency = (
        f" within {format_duration(intent.max_latency)}" if intent.max_latency is not None else ""
    )
    return f"{intent.method} {redact_value('', str(intent.url))} answers {statuses}{latency}"


@describe.register
def _(intent: probes.TlsProbe) -> str:
    days = f", at least {intent.min_days_left} days left" if intent.min_days_left else ""
    return f"certificate of {intent.host}:{intent.port} is valid for its name{days}"


@describe.register
def _(intent: probes.SecretProbe) -> str:
    key = f" key {intent.key}" if intent.key else ""
    return f"secret {intent.name}{key} resolves from {intent.source} (digest only)"


@describe.register
def _(intent: probes.RoutingProbe) -> str:
    expect = intent.expect.region or ", ".join(intent.expect.records) or "any answer"
    return f"{intent.name} ({intent.record_type}) routes to {expect}"


@describe.register
def _(intent: probes.RpoCanaryProbe) -> str:
    channel = (
        f"API {redact_value('', str(intent.http.write_url))}"
        if intent.http is not None
        else f"database table {intent.database.table}"
        if intent.database
        else "?"
    )
    return f"write canary records every {format_duration(intent.interval)} through {channel}"


@describe.register
def _(intent: probes.WorkloadReadyProbe) -> str:
    names = ", ".join(intent.workloads) or _selector(intent.selector)
    return f"{names} in {intent.namespace} have {intent.min_ready_percent}% of replicas ready"


@describe.register
def _(intent: probes.BackupAgeProbe) -> str:
    limit = format_duration(intent.max_age) if intent.max_age else "the RPO objective"
    return f"newest completed backup of schedule {intent.schedule} is younger than {limit}"


@describe.register
def _(intent: probes.AccessProbe) -> str:
    who = f"group {intent.impersonate_group}" if intent.impersonate_group else "the operator"
    verbs = ", ".join(f"{c.verb} {c.resource}" for c in intent.checks)
    return f"{who} may {verbs}"


def describe_objectives(objectives: Objectives) -> str:
    parts = []
    if objectives.rto is not None:
        parts.append(f"RTO {format_duration(objectives.rto)}")
    if objectives.rpo is not None:
        parts.append(f"RPO {format_duration(objectives.rpo)}")
    if objectives.min_certificate_days is not None:
        parts.append(f"certificates >= {objectives.min_certificate_days} days")
    return ", ".join(parts) or "none"
