"""Queued execution (Taskiq). Arrives with the worker issue; empty until then."""
