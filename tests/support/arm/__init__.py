"""An Azure Resource Manager test server: HTTPS, bearer tokens, long-running operations.

No Azure emulator exists, so the AKS provider's tests talk to this one with the
real Azure SDK clients. See ``server`` for the protocol, ``world`` for the
resources it keeps and ``fixtures`` for the pytest fixtures.
"""
