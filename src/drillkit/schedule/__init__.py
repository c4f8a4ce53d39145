"""Scheduled drills on Kubernetes: the manifests of a CronJob that runs drills in the cluster.

``rbac`` computes the least privilege the drills' steps need; ``manifests``
writes the CronJob, ServiceAccount, RBAC, ConfigMap and Dockerfile.
"""
