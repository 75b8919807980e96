"""Lowering of validated specs to LangGraph ``StateGraph``s."""
