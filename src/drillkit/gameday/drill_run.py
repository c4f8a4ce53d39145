"""One drill of a game-day, run exactly as ``drill run`` runs it, leaving a normal signed bundle.

Same order as the CLI's ``run``: plan, the lock-file check (prod targets run
only locked versions), freeze windows, the signer (resolved before anything
changes), the provider, the runner, then sealing. The signer and the
progress display come from the caller, so this module knows no terminal and
no key-choice rules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from drillkit.engine.progress import Progress
from drillkit.errors import VersionError
from drillkit.gameday.day import DrillRun
from drillkit.gameday.plan_file import Entry


class DrillRunner:
    """Runs a game-day entry's drill; ``signer_for(target_name, target)`` signs its bundle."""

    def __init__(
        self,
        repository: Any,
        output_dir: Path,
        *,
        signer_for: Callable[[str, Any], Any],
        progress_for: Callable[[str], Progress],
        say: Callable[[str], None],
        yes: bool,
    ) -> None:
        self.repository = repository
        self.output_dir = output_dir
        self.signer_for = signer_for
        self.progress_for = progress_for
        self.say = say
        self.yes = yes

    def prepare(self, drill_name: str, target_name: str) -> Any:
        """The plan of one entry: loads the drill and target, checks the lock and freezes."""
        from drillkit.engine.guards import refuse_if_frozen
        from drillkit.engine.plan import make_plan

        drill = self.repository.load_named(drill_name)
        target = self.repository.target(target_name)
        planned = make_plan(drill, target_name, target)
        why = self.repository.read_lock().check(drill.name, drill.version, drill.digest)
        if why is not None and ("changed but its version" in why or target.tier == "prod"):
            raise VersionError(
                f"refused: {why}",
                fix="bump metadata.version and run `drill lock`; prod targets run only "
                "locked versions",
            )
        refuse_if_frozen(planned)
        return planned

    def __call__(self, entry: Entry, target_name: str) -> DrillRun:
        from drillkit.engine.runner import Runner, RunOptions
        from drillkit.evidence.seal import seal_bundle
        from drillkit.providers.registry import PROVIDERS

        planned = self.prepare(str(entry.drill), target_name)
        signer = self.signer_for(target_name, planned.target)
        provider = PROVIDERS.get(planned.target.provider)(target_name, planned.target)
        provider.ensure_running(self.say)
        options = RunOptions(output_dir=self.output_dir, yes=self.yes)
        drill = planned.drill
        runner = Runner(
            planned, provider, options, self.progress_for(f"{drill.name} {drill.version}")
        )
        result = runner.run()
        seal_bundle(result.run_dir, signer)
        return DrillRun(result.run_id, result.run_dir, result.summary.verdict, drill.version)
