"""The readiness scorecard: for each drill and target, are we still able to recover?

One line per drill x target: the newest run that counts (dry runs and
refused runs change nothing, so they do not), the newest passing run, its
age against the policy's maximum for the drill's tier, whether that run met
every declared objective, and whether its evidence verifies. A line is

- ``healthy``: the newest run passed and met its objectives, the last pass is
  within the policy, and its evidence verified (or no key was given);
- ``failing``: the newest run did not pass, or did not meet its objectives;
- ``overdue``: no passing run within the policy's age (``never-passed``
  when there is none at all, ``never-run`` for a drill of the repository or
  a policy target with no run);
- ``unverified``: the evidence of the last pass does not verify, or is unsigned.

Anything but ``healthy`` makes ``drill scorecard`` exit 1, so the scorecard
can gate a release pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drillkit.evidence.keys import PublicKey
from drillkit.history.evidence_check import EvidenceStatus, check_evidence
from drillkit.history.index import RunIndex, latest
from drillkit.history.policy import ReadinessPolicy
from drillkit.history.records import RunRecord

HEALTHY, FAILING, OVERDUE, UNVERIFIED = "healthy", "failing", "overdue", "unverified"
NEVER_PASSED, NEVER_RUN = "never-passed", "never-run"


@dataclass(frozen=True)
class ExpectedDrill:
    """A drill of the repository, so that one with no run at all shows up."""

    name: str
    tier: int


@dataclass(frozen=True)
class ScoreLine:
    drill: str
    target: str
    tier: int
    status: str
    reasons: tuple[str, ...]
    max_age: timedelta
    newest: RunRecord | None
    last_pass: RunRecord | None
    age: timedelta | None
    """Age of the last passing run at scoring time."""
    evidence: EvidenceStatus | None
    runs: tuple[RunRecord, ...] = field(repr=False, default=())

    @property
    def healthy(self) -> bool:
        return self.status == HEALTHY

    def to_json(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "target": self.target,
            "tier": self.tier,
            "status": self.status,
            "reasons": list(self.reasons),
            "maxAgeDays": round(self.max_age.total_seconds() / 86400, 3),
            "newestRun": _run_json(self.newest),
            "lastPass": _run_json(self.last_pass),
            "lastPassAgeDays": round(self.age.total_seconds() / 86400, 3)
            if self.age is not None
            else None,
            "objectivesMet": self.last_pass.objectives_met if self.last_pass else None,
            "evidence": {"state": self.evidence.state, "detail": self.evidence.detail}
            if self.evidence
            else None,
            "runs": len(self.runs),
        }


@dataclass(frozen=True)
class Scorecard:
    lines: tuple[ScoreLine, ...]
    scored_at: datetime
    policy_origin: str
    keys_given: bool

    @property
    def ok(self) -> bool:
        """True when there is something to score and every line is healthy."""
        return bool(self.lines) and all(line.healthy for line in self.lines)

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            totals[line.status] = totals.get(line.status, 0) + 1
        return totals

    def to_json(self) -> dict[str, Any]:
        return {
            "scoredAt": self.scored_at.isoformat().replace("+00:00", "Z"),
            "policy": self.policy_origin,
            "evidenceChecked": self.keys_given,
            "ok": self.ok,
            "counts": self.counts(),
            "lines": [line.to_json() for line in self.lines],
        }


def score(
    index: RunIndex,
    policy: ReadinessPolicy,
    now: datetime,
    *,
    keys: list[PublicKey],
    expected: list[ExpectedDrill] | None = None,
    policy_origin: str = "built-in defaults",
    drill: str | None = None,
    target: str | None = None,
) -> Scorecard:
    """Score every drill x target in the index, plus expected ones with no runs."""
    lines: dict[tuple[str, str], ScoreLine] = {}
    for (name, where), runs in latest(index.runs(drill, target)):
        lines[(name, where)] = _line(index, policy, now, keys, name, where, runs)
    wanted_targets = [t for t in policy.spec.targets if target is None or t == target]
    for item in expected or []:
        if drill is not None and item.name != drill:
            continue
        has_any = any(key[0] == item.name for key in lines)
        for where in wanted_targets or ([] if has_any or target else ["-"]):
            if (item.name, where) not in lines:
                lines[(item.name, where)] = _never_run(policy, item, where)
    return Scorecard(
        tuple(lines[key] for key in sorted(lines)), now, policy_origin, keys_given=bool(keys)
    )


def _line(
    index: RunIndex,
    policy: ReadinessPolicy,
    now: datetime,
    keys: list[PublicKey],
    name: str,
    where: str,
    runs: list[RunRecord],
) -> ScoreLine:
    counted = [r for r in runs if r.counts]
    newest = counted[-1] if counted else None
    passes = [r for r in counted if r.passed]
    last_pass = passes[-1] if passes else None
    tier = (newest or runs[-1]).tier
    max_age = policy.max_age(tier)
    reasons: list[str] = []
    status = HEALTHY
    age = now - last_pass.finished_datetime() if last_pass else None
    evidence = check_evidence(index, last_pass, keys) if last_pass else None
    if newest is None:
        status, reasons = NEVER_RUN, ["only dry or refused runs"]
    elif not newest.passed:
        status = FAILING
        reasons.append(f"newest run {newest.run_id} {newest.verdict}")
    elif not newest.objectives_met:
        status = FAILING
        reasons.append(f"newest run {newest.run_id} did not meet its objectives")
    if last_pass is None and newest is not None:
        reasons.append("no passing run")
        if status == HEALTHY:
            status = NEVER_PASSED
    elif age is not None and age > max_age:
        reasons.append(f"last pass {_days(age)} ago, policy every {_days(max_age)}")
        if status == HEALTHY:
            status = OVERDUE
    if evidence is not None and not evidence.acceptable:
        reasons.append(f"evidence {evidence.state}: {evidence.detail}")
        if status == HEALTHY:
            status = UNVERIFIED
    return ScoreLine(
        name,
        where,
        tier,
        status,
        tuple(reasons),
        max_age,
        newest,
        last_pass,
        age,
        evidence,
        tuple(runs),
    )


def _never_run(policy: ReadinessPolicy, item: ExpectedDrill, where: str) -> ScoreLine:
    reason = "no run on this target" if where != "-" else "no run on any target"
    return ScoreLine(
        item.name,
        where,
        item.tier,
        NEVER_RUN,
        (reason,),
        policy.max_age(item.tier),
        None,
        None,
        None,
        None,
    )


def _days(value: timedelta) -> str:
    days = value.total_seconds() / 86400
    return f"{int(days)}d" if days >= 1 else f"{value.total_seconds() / 3600:.1f}h"


def _run_json(record: RunRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "runId": record.run_id,
        "version": record.version,
        "verdict": record.verdict,
        "finishedAt": record.finished_at,
        "rtoSeconds": record.rto_seconds,
        "rpoSeconds": record.rpo_seconds,
        "folder": record.run_dir,
    }
