"""The llm node's machinery: models, tools, streaming and conversation memory."""
