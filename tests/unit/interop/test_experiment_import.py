"""What of a Chaos Toolkit experiment becomes drill probes, and what is reported as not mapped."""

from __future__ import annotations

from typing import Any

from drillkit.interop.experiment_import import drill_name, experiment_to_drill
from drillkit.spec.drill import Drill

EXPERIMENT: dict[str, Any] = {
    "title": "Orders API survives losing a pod!",
    "description": "kill one pod",
    "configuration": {
        "base": "https://orders.example.com",
        "ns": {"type": "env", "key": "NS", "default": "orders"},
    },
    "steady-state-hypothesis": {
        "title": "orders answer",
        "probes": [
            {
                "type": "probe",
                "name": "api-answers",
                "tolerance": [200, 204],
                "provider": {"type": "http", "url": "${base}/healthz", "timeout": 3},
            },
            {
                "type": "probe",
                "name": "deployment-healthy",
                "tolerance": True,
                "provider": {
                    "type": "python",
                    "module": "chaosk8s.deployment.probes",
                    "func": "deployment_available_and_healthy",
                    "arguments": {"name": "orders-api", "ns": "${ns}"},
                },
            },
            {
                "type": "probe",
                "name": "custom-check",
                "tolerance": 0,
                "provider": {"type": "process", "path": "check-orders.sh"},
            },
        ],
    },
    "method": [{"type": "action", "name": "kill", "provider": {"type": "python"}}],
}


def test_http_and_known_chaosk8s_probes_map_and_the_rest_is_named() -> None:
    imported = experiment_to_drill(
        EXPERIMENT,
        name="orders-pod",
        experiment_ref="experiments/orders-pod.json",
        owner="sre@example.com",
        tier=1,
        within="90s",
    )

    assert imported.mapped == [
        "api-answers -> http probe",
        "deployment-healthy -> workload-ready probe",
    ]
    assert imported.not_mapped == ["custom-check (process)"]
    spec = imported.document["spec"]
    assert [step["name"] for step in spec["steps"]] == [
        "before-api-answers",
        "before-deployment-healthy",
        "run-experiment-method",
        "after-api-answers",
        "after-deployment-healthy",
    ]
    assert spec["steps"][0]["probe"] == {
        "type": "http",
        "url": "https://orders.example.com/healthz",
        "expect": {"status": [200, 204]},
        "timeout": "3s",
    }
    assert spec["steps"][1]["probe"] == {
        "type": "workload-ready",
        "namespace": "orders",
        "workloads": ["orders-api"],
    }
    assert spec["steps"][3]["within"] == "90s"
    assert spec["objectives"] == {"rto": "90s"}
    assert spec["measure"]["rto"]["probe"]["url"] == "https://orders.example.com/healthz"
    assert imported.document["metadata"]["labels"] == {"drillkit.io/imported-from": "chaostoolkit"}
    assert Drill.model_validate(imported.document).metadata.name == "orders-pod"


def test_a_drill_name_comes_from_the_title_in_drill_name_form() -> None:
    assert (
        drill_name("Orders API survives losing a pod!", "x") == "orders-api-survives-losing-a-pod"
    )
    assert drill_name("!!!", "kill-orders-pod") == "kill-orders-pod"
    assert len(drill_name("a" * 100, "x")) == 63
