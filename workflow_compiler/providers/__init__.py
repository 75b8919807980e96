"""LLM providers behind one small interface; a new provider is one module."""
