"""autograder.sandbox.device_shim: Colab code (`.cuda()`, device="cuda") on a CPU grader."""
import pytest
import torch

from autograder.sandbox.device_shim import cuda_on_cpu

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the shim is for machines without a GPU")


def test_cuda_calls_run_on_the_cpu():
    """Every way Colab code asks for the GPU works and stays on the CPU."""
    with cuda_on_cpu():
        x = torch.zeros(2, device="cuda")
        tensors = [x, x.cuda(), x.to("cuda"), x.to(torch.device("cuda:0")), torch.ones(2).to("cuda", torch.float64),
                   torch.tensor([1.0], device=torch.device("cuda")), torch.zeros_like(x, device="cuda"),
                   torch.randn(2, 2, device="cuda"), x.new_zeros(3, device="cuda")]
        model = torch.nn.Linear(2, 2).cuda()
        torch.cuda.synchronize()
        assert not torch.cuda.is_available()   # an honest answer to code that asks
    assert all(t.device.type == "cpu" for t in tensors) and next(model.parameters()).device.type == "cpu"
    assert tensors[4].dtype == torch.float64


def test_gradients_work_under_the_shim():
    with cuda_on_cpu():
        x = torch.randn(3, requires_grad=True, device="cuda")
        (x * 2).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 2.0))


def test_shim_is_gone_afterwards_and_off_when_disabled():
    with cuda_on_cpu():
        pass
    with pytest.raises((RuntimeError, AssertionError)):
        torch.zeros(1, device="cuda")
    with cuda_on_cpu(enabled=False):
        with pytest.raises((RuntimeError, AssertionError)):
            torch.zeros(1).cuda()
