"""Reaching the cluster a target names: a kubeconfig context, or the pod's service account.

One ``ApiClient`` per provider, built when the provider opens. The
kubeconfig is read with the official loader (exec plugins, tokens, client
certificates, CA data all work as with kubectl); ``KUBECONFIG`` applies when
the target gives no path. The host is kept for messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from drillkit.errors import UserInputError
from drillkit.spec.targets import KubernetesSettings


@dataclass
class Connection:
    api_client: Any
    host: str
    context: str | None
    user: str | None


def connect(settings: KubernetesSettings, target: str) -> Connection:
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        if settings.in_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return Connection(client.ApiClient(configuration), configuration.host, None, None)
        path = os.path.expanduser(settings.kubeconfig) if settings.kubeconfig else None
        contexts, active = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        chosen = settings.context or (active or {}).get("name")
        entry = next((c for c in contexts if c["name"] == chosen), None)
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=chosen, client_configuration=configuration
        )
    except (ConfigException, OSError, TypeError, ValueError, yaml.YAMLError) as exc:
        where = settings.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise UserInputError(
            f"target `{target}`: cannot load the Kubernetes configuration from {where}"
            + (f" (context `{settings.context}`)" if settings.context else "")
            + f": {exc}",
            fix="check `kubernetes.kubeconfig` and `kubernetes.context` of the target "
            "(`kubectl config get-contexts` lists the contexts)",
        ) from None
    user = (entry or {}).get("context", {}).get("user")
    return Connection(client.ApiClient(configuration), configuration.host, chosen, user)
