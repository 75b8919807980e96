"""What the models share.

Value vocabularies (statuses, sources) are checked by the repositories, not by CHECK
constraints: Tortoise 1.1.9's ``CreateModel`` does not emit ``Meta.constraints``, and its
SQLite ``AddConstraint`` rebuilds the table without its indexes and unique constraints.
"""

APP = "graphwright"
