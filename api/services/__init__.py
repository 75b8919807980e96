"""The service layer: what the API does, between thin routers and the repositories."""
