"""Fixtures for the CLI tests; the helpers live in ``cli_harness`` so tests can import
them by a name no other test directory uses."""

from cli_harness import cli

__all__ = ["cli"]
