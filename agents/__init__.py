"""The chat agent that builds and runs ad-hoc workflows. Arrives with its own issue."""
