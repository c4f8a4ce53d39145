"""Game-days: an ordered plan of drill runs with go/no-go gates, and one signed bundle for all.

``plan_file`` parses and checks a plan; ``schedule`` decides, entry by entry,
what runs and what is skipped; ``bundle`` writes and signs the game-day's own
evidence, which links every run's attestation by digest; ``verify`` checks it.
"""
