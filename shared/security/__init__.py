"""Security helpers shared by the API and the worker: API key hashing, secret encryption."""
