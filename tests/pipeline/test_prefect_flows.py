"""Prefect side: artifacts the stage flows published, scheduled deployments, retry and cache policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.states import Failed

from flows.deploy import WEEKLY_CRON, build_deployments, nightly_cron
from flows.prepare import _only_transient, prepare_flow
from gan_core.config import EXPERIMENTS
from gan_core.data.errors import DataError
from gan_core.data.fetch import fetch_data


@pytest.mark.slow
def test_stage_flows_publish_their_artifacts(first_run: str, prefect_api: str) -> None:
    table = Artifact.get("mnist-cgan-metrics")
    assert table is not None and table.type == "table"
    assert "class_accuracy" in str(table.data) and "loss_g" in str(table.data)
    summary = Artifact.get("sic-inpaint-summary")
    assert summary is not None and summary.type == "markdown"
    assert "MLflow run `" in summary.data and "sic-inpaint` v1" in summary.data and "latest.png" in summary.data
    assert Artifact.get("mnist-classifier") is not None


@pytest.mark.slow
def test_deployments_register_with_their_schedules(prefect_api: str) -> None:
    deployments = build_deployments("/srv/project/params.yaml")
    ids = {deployment.name: deployment.apply() for deployment in deployments}
    assert set(ids) == {*(f"nightly-{name}" for name in EXPERIMENTS), "weekly-pipeline", "serve-champion"}
    with get_client(sync_client=True) as client:
        registered = {name: client.read_deployment(deployment_id) for name, deployment_id in ids.items()}
    for index, name in enumerate(EXPERIMENTS):
        nightly = registered[f"nightly-{name}"]
        assert [s.schedule.cron for s in nightly.schedules] == [nightly_cron(index)]
        assert nightly.parameters == {"experiment": name, "params_path": "/srv/project/params.yaml"}
    assert [s.schedule.cron for s in registered["weekly-pipeline"].schedules] == [WEEKLY_CRON]
    assert registered["serve-champion"].schedules == []
    assert len({nightly_cron(index) for index in range(len(EXPERIMENTS))}) == len(EXPERIMENTS)  # never two at once


def test_fetch_retries_transient_errors_only() -> None:
    assert _only_transient(None, None, Failed(data=ConnectionResetError("reset by peer")))
    assert not _only_transient(None, None, Failed(data=DataError("data mirror not found: /nowhere")))


@pytest.mark.slow
def test_prepare_is_cached_until_data_or_outputs_change(prefect_api: str, mirror: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "decode-cache"))
    data, prepared = tmp_path / "data", tmp_path / "prepared"
    fetch_data(data, mirror)
    first = prepare_flow(str(data), str(prepared))
    assert sorted(first) == ["celeba32", "celeba64", "mnist", "sic"]
    written = {name: Path(path).stat().st_mtime_ns for name, path in first.items()}

    assert prepare_flow(str(data), str(prepared)) == first  # cached: nothing rewritten
    assert {name: Path(path).stat().st_mtime_ns for name, path in first.items()} == written

    Path(first["sic"]).unlink()  # an output gone: no cache key, so it runs again
    prepare_flow(str(data), str(prepared))
    assert Path(first["sic"]).is_file() and Path(first["mnist"]).stat().st_mtime_ns != written["mnist"]
