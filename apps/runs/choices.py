from django.db import models


class RunKind(models.TextChoices):
    FULL = "full", "Full migration"
    DELTA = "delta", "Delta sync"
    RETRY_FAILED = "retry_failed", "Retry failed records"
    DRY_RUN = "dry_run", "Dry run"
    VERIFY = "verify", "Verify"
    ROLLBACK = "rollback", "Rollback"


# Kinds the engine can execute today; others are refused with a clear message.
SUPPORTED_KINDS = (
    RunKind.FULL,
    RunKind.DELTA,
    RunKind.RETRY_FAILED,
    RunKind.DRY_RUN,
    RunKind.ROLLBACK,
)
# Kinds that write and so move the project's watermark (a rolled-back run no longer counts).
SYNC_KINDS = (RunKind.FULL, RunKind.DELTA)
# Kinds that write to the target and journal it: the runs a rollback can undo.
WRITING_KINDS = (RunKind.FULL, RunKind.DELTA, RunKind.RETRY_FAILED)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PLANNING = "planning", "Planning"
    RUNNING = "running", "Running"
    VERIFYING = "verifying", "Verifying"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED, RunStatus.FAILED, RunStatus.CANCELLED}
)


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Action(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    MERGED = "merged", "Merged"
    CONFLICT = "conflict", "Conflict"
    DELETED = "deleted", "Deleted"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class MapStatus(models.TextChoices):
    # Marked before a create is sent: a retry must look the record up on the target first.
    PENDING = "pending", "Create pending"
    SYNCED = "synced", "Synced"
    # Deleted at the source and hidden on the target (delete policy "archive").
    ARCHIVED = "archived", "Archived"


class JournalOp(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    DELETED = "deleted", "Deleted"
