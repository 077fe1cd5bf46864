"""A real MLflow store per test: one migrated SQLite template per session, copied per test (~1 ms)."""

import shutil

import pytest


@pytest.fixture(scope="session")
def mlflow_template_db(tmp_path_factory):
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()  # creates and migrates the schema once
    return db


@pytest.fixture
def mlflow_uri(tmp_path, mlflow_template_db, monkeypatch):
    """The tracking URI of a fresh store in tmp_path, also set as MLFLOW_TRACKING_URI for this test."""
    import mlflow

    shutil.copyfile(mlflow_template_db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():  # a failed test must not leak its run into the next one
        mlflow.end_run()
