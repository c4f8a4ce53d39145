"""Run history and readiness: an index of every run's evidence, the scorecard, metrics.

The bundles under ``reports/`` are the truth; the SQLite index next to them is
a cache that is rebuilt from them whenever it is missing, stale or damaged.
"""
