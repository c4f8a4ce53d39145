"""Probe kinds that work the same on every target: http, tls, routing (and more to come).

A provider answers a probe kind itself when the kind needs the platform
(secrets, workloads, backups, access); kinds that only talk to the network
are implemented once here and serve every provider through
``drillkit.probes.registry``. Modules import their network libraries lazily.
"""
