"""The migration engine (being written)."""


def plan_run(run_id: int) -> None:
    raise NotImplementedError


def process_batch(batch_id: int) -> None:
    raise NotImplementedError
