"""What a run has used of its spec's limits over all its drives (``RunRecord.steps_used``,
``active_ms``), so a paused and resumed run is bounded as one run. Database defaults give
existing runs zero.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("graphwright", "0002_one_published_version")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Run",
            name="active_ms",
            field=fields.FloatField(default=0.0, db_default=0.0),
        ),
        ops.AddField(
            model_name="Run",
            name="steps_used",
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
