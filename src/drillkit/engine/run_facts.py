"""What a run records about itself in its first journal event (``run-started``).

Recovery rebuilds the provider from these facts and the evidence report names
the drill, target, operator and tool versions from them, so they are written
once, before anything changes, and never hold a secret: target variables are
journaled with URL passwords and secret-named values redacted.
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

from drillkit import __version__
from drillkit.engine.plan import Plan
from drillkit.engine.tool_versions import dependency_versions, python_version
from drillkit.spec.targets import Target
from drillkit.spec.variable_redaction import redact_variables


def run_facts(
    plan: Plan,
    *,
    run_id: str,
    provider: str,
    operator: str,
    dry_run: bool,
    evidence_signing: str | None,
) -> dict[str, Any]:
    drill = plan.drill
    return {
        "runId": run_id,
        "drill": drill.name,
        "version": drill.version,
        "digest": drill.digest,
        "target": plan.target_name,
        "provider": provider,
        "targetDefinition": journaled_target(plan.target),
        "operator": operator,
        "host": socket.gethostname(),
        "dryRun": dry_run,
        "drillkit": __version__,
        "python": python_version(),
        "dependencies": dependency_versions(),
        **({"evidenceSigning": evidence_signing} if evidence_signing is not None else {}),
    }


def journaled_target(target: Target) -> dict[str, Any]:
    """The target as recorded: passwords in variable URLs and secret-named variables hidden."""
    document: dict[str, Any] = target.model_dump(mode="json", by_alias=True)
    document["variables"] = redact_variables(target.variables)
    return document


def os_user() -> str:
    """Who runs the drill, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
