"""Every query of the service lives here. Caller-facing methods take the caller's
``owner_id`` and filter by it, so another user's object is simply not found."""

from shared.database.repositories.approvals import ApprovalsRepository
from shared.database.repositories.drafts import DraftsRepository
from shared.database.repositories.events import EventsRepository
from shared.database.repositories.files import FilesRepository
from shared.database.repositories.runs import RunsRepository, check_transition
from shared.database.repositories.secrets import OwnerSecrets, SecretsRepository
from shared.database.repositories.stats import StatsRepository
from shared.database.repositories.steps import StepsRepository
from shared.database.repositories.users import UsersRepository
from shared.database.repositories.versions import VersionsRepository
from shared.database.repositories.workflows import WorkflowsRepository

__all__ = [
    "ApprovalsRepository",
    "DraftsRepository",
    "EventsRepository",
    "FilesRepository",
    "OwnerSecrets",
    "RunsRepository",
    "SecretsRepository",
    "StatsRepository",
    "StepsRepository",
    "UsersRepository",
    "VersionsRepository",
    "WorkflowsRepository",
    "check_transition",
]
