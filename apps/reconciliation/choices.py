from django.db import models


class ItemKind(models.TextChoices):
    MISMATCH = "mismatch", "Mismatch"
    MISSING = "missing", "Missing on the target"
    ORPHAN = "orphan", "Orphan on the target"
    FAILED = "failed", "Failed"
    EXCLUDED = "excluded", "Excluded"
    SPOT_CHECK = "spot_check", "Spot check"
