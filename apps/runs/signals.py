"""Signals the engine sends so higher apps (golive's notifications) can react without the
engine importing them. Each is sent after the transaction that made the change commits."""

from django.dispatch import Signal

# sender=Run, run=<Run>: the run reached a terminal status.
run_finished = Signal()
# sender=Run, run=<Run>, conflict=<Conflict>, entity, source_id: a record went to the manual
# review queue.
conflict_opened = Signal()
