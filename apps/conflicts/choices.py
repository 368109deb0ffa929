from django.db import models


class Policy(models.TextChoices):
    """What happens to a field changed on both sides since the last sync."""

    SOURCE_WINS = "source_wins", "Source wins"
    TARGET_WINS = "target_wins", "Target wins"
    LATEST = "latest", "Latest timestamp wins"
    MERGE = "merge", "Merge (lists: union; other fields: manual)"
    MANUAL = "manual", "Manual review"


class DeletePolicy(models.TextChoices):
    """What happens on the target when a record disappears from the source."""

    PROPAGATE = "propagate", "Delete on the target"
    ARCHIVE = "archive", "Archive / hide on the target"
    REVIEW = "review", "Send to the review queue"


class ConflictKind(models.TextChoices):
    EDIT = "edit", "Edited on both sides"
    DELETE = "delete", "Deleted at the source"


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


class Side(models.TextChoices):
    SOURCE = "source", "Source"
    TARGET = "target", "Target"
    CUSTOM = "custom", "Typed value"
