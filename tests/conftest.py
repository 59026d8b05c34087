"""Fixtures shared by the test folders; shared plain helpers live in `pytrainc.testing`."""

import pytest


@pytest.fixture(scope="module")
def torch_single_thread():
    """One torch thread for a module's tests, the previous count restored after them.

    The tensors in the tests are tiny; one torch thread avoids its OpenMP workers spinning
    against OpenBLAS's on a loaded machine (that contention, not the work, dominated the run
    time). A module asks for it with `pytestmark = pytest.mark.usefixtures("torch_single_thread")`.
    Without torch installed it does nothing.
    """
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
