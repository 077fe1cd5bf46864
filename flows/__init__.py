"""Prefect flows: orchestration only (read params, call gan_core, publish results)."""
