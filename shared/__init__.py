"""Service-side shared code: settings, database models, security. Arrives with the service."""
