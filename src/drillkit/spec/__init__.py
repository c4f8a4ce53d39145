"""Drill and target models, loading with positions, references, digests and versioning.

This layer imports nothing of drillkit except ``drillkit.errors``, so it can
be used (and tested) without the engine, providers or evidence code.
"""
