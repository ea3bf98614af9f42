import os

import torch
import torch.distributed as dist
from mmengine.optim import OptimWrapper

from rgl.engine.optimizers import AutocastOptimWrapper
from rgl.models.backbones import SmallConvNet
from rgl.models.wrappers import RglDistributedDataParallel


def test_autocast_wrapper_runs_bf16_on_cpu_and_updates():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    before = net.weight.detach().clone()
    with wrapper.optim_context(net):
        out = net(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(before, net.weight)
    assert isinstance(wrapper, OptimWrapper)


def test_cpu_ddp_wrapper_in_a_one_process_gloo_group():
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29761')
    dist.init_process_group('gloo', rank=0, world_size=1)
    try:
        net = SmallConvNet(widths=(4, ))
        # mmengine always passes device_ids; it must be dropped on CPU
        ddp = RglDistributedDataParallel(module=net, device_ids=[0],
                                         broadcast_buffers=False)
        assert ddp.device_ids is None
        out = ddp(torch.rand(2, 1, 8, 8))
        out.sum().backward()
        assert net.stages[0][0].weight.grad is not None
    finally:
        dist.destroy_process_group()
