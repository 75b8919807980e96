"""Tortoise models of the service database, one module per aggregate.

Every table that belongs to a user carries ``owner_id`` so repositories can scope each
query with a plain filter. Model changes need a migration: see ``shared/database/README``
(``tortoise -c shared.database.config.TORTOISE_ORM makemigrations``).
"""

from shared.database.models.approvals import Approval, ApprovalApprover, ApprovalResponse
from shared.database.models.files import StoredFile
from shared.database.models.run_log import RunEventRow, RunStep
from shared.database.models.runs import Run
from shared.database.models.secrets import Secret
from shared.database.models.users import ApiKey, User
from shared.database.models.versions import Version
from shared.database.models.workflows import Draft, Namespace, Workflow

__models__ = [
    User, ApiKey, Namespace, Workflow, Draft, Version, Run, RunStep, RunEventRow,
    Approval, ApprovalApprover, ApprovalResponse, StoredFile, Secret,
]

__all__ = [
    "ApiKey",
    "Approval",
    "ApprovalApprover",
    "ApprovalResponse",
    "Draft",
    "Namespace",
    "Run",
    "RunEventRow",
    "RunStep",
    "Secret",
    "StoredFile",
    "User",
    "Version",
    "Workflow",
]
