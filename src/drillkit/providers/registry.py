"""Provider lookup by name: built-ins by module path, plugins from ``DRILLKIT_PLUGINS``.

The engine asks this registry for ``eks`` and gets a provider class; it never
imports a provider module itself. Built-in providers are listed by module
path and imported on first use, so a run on the sandbox never loads boto3.
Plugins (``DRILLKIT_PLUGINS=package.module,other.module``) are imported at
lookup time and register their provider classes with ``register``.
"""

from __future__ import annotations

import difflib
import importlib
import os

from drillkit.errors import DrillError, NotImplementedYet, UserInputError
from drillkit.providers.base import Provider

BUILTIN: dict[str, str] = {
    "local": "drillkit.providers.local",
    "kubernetes": "drillkit.providers.kubernetes",
    "eks": "drillkit.providers.eks",
    "aks": "drillkit.providers.aks",
}
PLUGINS_VARIABLE = "DRILLKIT_PLUGINS"


class UnknownProvider(UserInputError):
    """The target names a provider nobody registered."""


class ProviderRegistry:
    """name -> provider class; refuses duplicates."""

    def __init__(self, builtin: dict[str, str] | None = None) -> None:
        self._classes: dict[str, type[Provider]] = {}
        self._builtin = dict(BUILTIN if builtin is None else builtin)
        self._plugins_loaded = False

    def register(self, provider: type[Provider]) -> type[Provider]:
        """Register a provider class (usable as a class decorator)."""
        existing = self._classes.get(provider.name)
        if existing is not None and existing is not provider:
            raise ValueError(f"provider `{provider.name}` is already registered")
        self._classes[provider.name] = provider
        return provider

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(set(self._classes) | set(self._builtin))

    def get(self, name: str) -> type[Provider]:
        self._load_plugins()
        if name in self._classes:
            return self._classes[name]
        if name in self._builtin:
            try:
                importlib.import_module(self._builtin[name])
            except ModuleNotFoundError as exc:
                if exc.name != self._builtin[name]:
                    raise
                raise NotImplementedYet(
                    f"provider `{name}` is not available yet in drillkit",
                    fix="use a target whose provider is available, or a later drillkit release",
                ) from None
            if name in self._classes:
                return self._classes[name]
            raise DrillError(f"module {self._builtin[name]} did not register provider `{name}`")
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise UnknownProvider(
            f"no provider named `{name}`; known: {', '.join(self.names())}",
            fix=f"{hint}fix `provider:` in targets.yaml, or load a plugin with {PLUGINS_VARIABLE}",
        )

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for module in filter(None, os.environ.get(PLUGINS_VARIABLE, "").split(",")):
            try:
                importlib.import_module(module.strip())
            except ImportError as exc:
                raise UserInputError(
                    f"cannot import plugin `{module.strip()}` from {PLUGINS_VARIABLE}: {exc}",
                    fix=f"check {PLUGINS_VARIABLE} and that the module is installed",
                ) from None


PROVIDERS = ProviderRegistry()
"""The process-wide registry the CLI uses; tests may build their own."""
