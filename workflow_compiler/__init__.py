"""graphwright's pure core: spec models, validation, expressions, lowering to LangGraph,
node executors and the one runtime every caller uses.

Nothing here imports the web, ORM or queue layers; a test enforces it.
"""

__version__ = "0.1.0"
