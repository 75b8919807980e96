"""The service database: Tortoise models, migrations, repositories and the run store.

Open it with ``await init_db(url)``; every query lives in ``repositories`` (scoped to a
caller) or in ``run_store`` (the runtime's own persistence).
"""

from shared.database.connection import close_db, init_db

__all__ = ["close_db", "init_db"]
