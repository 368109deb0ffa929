from django.db import models


class Origin(models.TextChoices):
    SOURCE = "source", "Source store"
    CSV = "csv", "CSV upload"
    SITEMAP = "sitemap", "Sitemap upload"
    MANUAL = "manual", "Manual"


class MapState(models.TextChoices):
    """Where a redirect stands between collection and the target."""

    UNMAPPED = "unmapped", "No new URL yet"
    MAPPED = "mapped", "Mapped, not pushed"
    PUSHED = "pushed", "Pushed to the target"
    EXPORTED = "exported", "In the export file"
    FAILED = "failed", "Push refused"


class Problem(models.TextChoices):
    OK = "ok", "OK"
    CHAIN = "chain", "Redirect chain"
    LOOP = "loop", "Redirect loop"
    NOT_REDIRECTED = "not_redirected", "Not redirected"
    WRONG_DESTINATION = "wrong_destination", "Wrong destination"
    BROKEN_DESTINATION = "broken_destination", "Broken destination"
    ERROR = "error", "Storefront error"


class JobKind(models.TextChoices):
    COLLECT = "collect", "Collect URLs from the source"
    PUSH = "push", "Push to the target"
    VERIFY = "verify", "Verify on the target storefront"
    UPLOAD = "upload", "Upload"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED)
#: Legal job transitions (apps.redirects.jobs applies them with conditional UPDATEs).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    JobStatus.QUEUED: (JobStatus.RUNNING, JobStatus.FAILED),
    JobStatus.RUNNING: (JobStatus.SUCCEEDED, JobStatus.FAILED),
}
