"""REST service (FastAPI). Arrives with the workflow-service issue; empty until then."""
