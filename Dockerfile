# The graphwright service image: the API today, the worker with the same image later.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    GRAPHWRIGHT_DATA_DIR=/data GRAPHWRIGHT_HOST=0.0.0.0 GRAPHWRIGHT_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY workflow_compiler ./workflow_compiler
COPY api ./api
COPY worker ./worker
COPY agents ./agents
COPY shared ./shared
RUN pip install --no-cache-dir . && useradd --create-home graphwright \
    && mkdir -p /data && chown graphwright /data
USER graphwright
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["graphwright", "serve"]
