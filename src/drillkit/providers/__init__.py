"""Providers: the only place platform SDKs (kubernetes, boto3, azure, chaoslib) are imported.

The engine reaches a provider only through ``drillkit.providers.registry``;
each provider module imports its SDK lazily so ``drill --help`` stays instant.
"""
