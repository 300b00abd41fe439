"""The `arm` fixture: every attention arm (and Luong variant) the model tests run over."""

import pytest

from tests.model.arms import ARMS


@pytest.fixture(params=list(ARMS))
def arm(request) -> str:
    return request.param
