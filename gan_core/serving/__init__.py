"""Serving: MLflow pyfunc models per task kind and an HTTP server that follows a registry alias.

Importing this package imports nothing heavy; `pyfunc` and `server` pull in MLflow and FastAPI.
"""
