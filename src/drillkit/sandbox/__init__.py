"""The sandbox: a small, real environment on one machine, and the default target.

Its state lives in one folder (``SandboxLayout``). The modules here read and
write that state in formats the sandbox's own processes and the ``local``
provider share: the secret store, the backup catalog, workload status and the
access policy. Each reader is also the provider-side source a probe asks.
"""
