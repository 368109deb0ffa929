"""Settings for the test suite: the same settings, read with MIGRATOR_ENV=test."""

import os

os.environ.setdefault("MIGRATOR_ENV", "test")

from migrator.settings import *  # noqa: F403
