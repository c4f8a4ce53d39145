"""A stateful Kubernetes API emulator over real HTTP, and controllers that play the cluster.

Providers are tested with the real ``kubernetes`` client and ``kubectl``
talking HTTP to this emulator, never with patched clients. See README.md in
this folder for the fixtures and the seeding helpers.
"""
