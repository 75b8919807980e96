"""Registered tools: callable by ``tool`` nodes and, later, by llm agents."""
