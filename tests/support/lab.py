"""A throwaway drill repository wired to the test provider, for engine tests.

``Lab`` writes drills, a target registry and a world file into a temporary
folder; tests then run the real engine (in-process or as a `drill` subprocess)
and look at the world and the journal to see what really happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.session import SESSION_VARIABLES
from tests.support.test_provider import new_world, read_world

ROOT = Path(__file__).resolve().parents[2]
TARGET = "staging-lab"


def drill_yaml(
    name: str,
    steps: str,
    *,
    objectives: str = "rto: 2m",
    extra_spec: str = "",
    measure: str | None = None,
    version: str = "1.0.0",
    targets: str = '["*"]',
) -> str:
    """A drill document; ``steps`` is the YAML list under ``spec.steps``."""
    if measure is None:
        measure = textwrap.dedent("""\
            rto:
              probe: {type: http, url: "${orders_url}/readyz"}
              interval: 50ms
              stableFor: 2
        """)
    return (
        "apiVersion: drillkit.io/v1\nkind: Drill\n"
        f"metadata: {{name: {name}, version: {version}, owner: sre@example.com, tier: 1}}\n"
        "spec:\n"
        f"  objectives: {{{objectives}}}\n"
        f"  targets: {targets}\n"
        + textwrap.indent(extra_spec, "  ")
        + "  measure:\n"
        + textwrap.indent(measure, "    ")
        + "  steps:\n"
        + textwrap.indent(textwrap.dedent(steps), "    ")
    )


def hold_zone_steps(hold: str) -> str:
    """Lose zone a, wait for the workload, then hold the outage for ``hold`` (``30s``): the
    steps of a drill a test can kill, signal or starve mid-outage."""
    return (
        "- name: lose-zone-a\n  fault: {type: zone-outage, zone: a}\n"
        "- name: recover\n  restore: {type: wait-for-recovery, namespace: orders}\n"
        f"- name: hold\n  wait: {hold}\n"
    )


@dataclass
class Lab:
    root: Path

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        tier: str = "staging",
        extra_target: str = "",
        sandbox: bool = False,
        **config: Any,
    ) -> Lab:
        """``sandbox``: platform-backed probes read sandbox-format state under ``root/sandbox``."""
        (root / "drills").mkdir(parents=True, exist_ok=True)
        new_world(root / "world.json", **config)
        state = f", sandbox: '{root / 'sandbox'}'" if sandbox else ""
        (root / "targets.yaml").write_text(
            "apiVersion: drillkit.io/v1\nkind: TargetRegistry\ntargets:\n"
            f"  {TARGET}:\n    provider: test\n    tier: {tier}\n"
            "    zones: {a: zone-a, b: zone-b, c: zone-c}\n"
            f"    variables: {{world: '{root / 'world.json'}', "
            f"orders_url: 'http://orders.lab.test'{state}}}\n"
            + textwrap.indent(extra_target, "    ")
        )
        return cls(root)

    def add_drill(self, name: str, steps: str, **options: Any) -> None:
        (self.root / "drills" / f"{name}.yaml").write_text(drill_yaml(name, steps, **options))

    @property
    def world(self) -> dict[str, Any]:
        return read_world(self.root / "world.json")

    def set_config(self, **config: Any) -> None:
        path = self.root / "world.json"
        state = json.loads(path.read_text())
        state["config"].update(config)
        path.write_text(json.dumps(state))

    def env(self) -> dict[str, str]:
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DRILLKIT_") or k in SESSION_VARIABLES
        }
        environment.update(
            {
                "PYTHONPATH": str(ROOT),
                "DRILLKIT_PLUGINS": "tests.support.test_provider",
                "DRILLKIT_LOCK_DIR": str(self.root / "locks"),
                "COLUMNS": "200",
            }
        )
        return environment

    def drill(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def runs(self, drill: str) -> list[Path]:
        return sorted((self.root / "reports" / drill).glob("*"))
