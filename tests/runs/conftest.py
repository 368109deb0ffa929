import pytest

from tests.support.rehearsal import Rehearsal, make_rehearsal


@pytest.fixture
def rehearsal(sandbox_http) -> Rehearsal:
    return make_rehearsal(sandbox_http, products=120)
