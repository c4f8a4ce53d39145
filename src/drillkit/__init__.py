"""drillkit: disaster-recovery drills for Kubernetes that measure RTO/RPO and sign evidence.

The package is the engine; the drill repository (``drills/``, ``probes/``,
``runbooks/``, ``experiments/``) is the data it reads. Importing this package
must stay cheap: ``drill --help`` imports it, so nothing heavy lives here.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
