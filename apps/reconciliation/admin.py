from django.contrib import admin

from apps.reconciliation.models import (
    EntityReconciliation,
    ImportantRecord,
    ReconciliationItem,
    ReconciliationReport,
)


class EntityInline(admin.TabularInline):
    model = EntityReconciliation
    extra = 0
    can_delete = False


@admin.register(ReconciliationReport)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "run", "started_at", "finished_at")
    inlines = [EntityInline]
    raw_id_fields = ("run", "project")


@admin.register(ReconciliationItem)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("id", "report", "kind", "entity", "natural_key", "source_id", "target_id")
    list_filter = ("kind", "entity")
    raw_id_fields = ("report",)


@admin.register(ImportantRecord)
class ImportantRecordAdmin(admin.ModelAdmin):
    list_display = ("project", "entity", "natural_key", "note")
    raw_id_fields = ("project", "created_by")
