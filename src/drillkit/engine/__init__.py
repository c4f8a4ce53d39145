"""The drill engine: plan, guards, runner, journal, undo and recovery."""
