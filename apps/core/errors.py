class Conflict(Exception):
    """A request that cannot be carried out in the current state (answered with 409)."""
