"""At most one published version per workflow, enforced by the database.

Created with ``makemigrations --empty``: a partial unique index (the same SQL on SQLite and
Postgres), which Tortoise's schema editor only emits for Postgres. The versions repository
also serialises publishing per workflow, so this index is the backstop, not the mechanism.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("graphwright", "0001_initial")]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE UNIQUE INDEX uq_workflow_versions_one_published "
            "ON workflow_versions (workflow_id) WHERE status = 'published'",
            reverse_sql="DROP INDEX uq_workflow_versions_one_published",
        ),
    ]
