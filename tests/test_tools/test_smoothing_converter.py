"""tools/model_converters/smoothing_to_rgl.py: reference smoothing
checkpoints (locuslab / CAT-RS / SmoothAdv / MACER) give the same logits in
rgl, through the same loading path as tools/certify.py."""
import importlib.util
import os

import pytest
import torch
from torch import nn

from conftest import REPO_ROOT

CFG = os.path.join(REPO_ROOT, 'configs', 'smoothing',
                   'gaussian_resnet110_1xb256-150e_cifar10-sigma0.25.py')
CIFAR10_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR10_STD = [0.2023, 0.1994, 0.2010]


# -- the reference key layout (bearpaw's CIFAR ResNet inside
#    Sequential(NormalizeLayer, net)), written for this test
class RefNormalizeLayer(nn.Module):
    def __init__(self, means, sds):
        super().__init__()
        # plain attributes, as in the reference: not in the state dict
        self.means, self.sds = torch.tensor(means), torch.tensor(sds)

    def forward(self, x):
        return (x - self.means[:, None, None]) / self.sds[:, None, None]


class RefBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + res)


class RefResNet(nn.Module):
    def __init__(self, depth=110, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        c_in, stages = 16, []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for j in range(n):
                blocks.append(RefBlock(c_in, planes, stride if j == 0 else 1))
                c_in = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def _reference(depth=110, normalize=True):
    torch.manual_seed(0)
    net = RefResNet(depth)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.0)
            m.bias.data.normal_(0, 0.1)
            m.momentum = None  # running statistics = this batch's
    nn.init.normal_(net.fc.weight, std=1.0)
    model = nn.Sequential(RefNormalizeLayer(CIFAR10_MEAN, CIFAR10_STD),
                          net) if normalize else net
    with torch.no_grad():  # BatchNorm statistics of real activations
        model.train()(torch.rand(16, 3, 32, 32))
    return model.eval()


def _converter():
    spec = importlib.util.spec_from_file_location(
        'rgl_smoothing_to_rgl', os.path.join(
            REPO_ROOT, 'tools', 'model_converters', 'smoothing_to_rgl.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _certify_classifier(path, config=CFG, cfg_options=None):
    """The base classifier as tools/certify.py loads it."""
    from mmengine.config import Config

    from rgl.registry import MODELS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = {k: v for k, v in cfg.model.items() if k != 'train_loss'}
    return MODELS.build(dict(type='SmoothedClassifier', classifier=model_cfg,
                             sigma=0.25, checkpoint=str(path)))


def test_locuslab_resnet110_gives_the_reference_logits(tool, tmp_path):
    ref = _reference()
    src = tmp_path / 'checkpoint.pth.tar'
    # saved from DataParallel(Sequential(...)): `module.1.` keys
    state = {'module.' + k: v for k, v in ref.state_dict().items()}
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    torch.save(dict(epoch=90, arch='cifar_resnet110', state_dict=state,
                    optimizer=opt.state_dict()), src)
    dst = tmp_path / 'rgl.pth'
    out = tool(['tools/model_converters/smoothing_to_rgl.py', str(src),
                str(dst), '--config', CFG])
    assert out.returncode == 0, out.stderr[-3000:]

    x = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(x)
        got = _certify_classifier(dst)(x)
    # logits that depend on the input (not only on the biases)
    assert (expected - expected.mean(0)).abs().max() > 0.1
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)

    # the full training model (init_model, tools/test.py) loads it strictly
    from rgl.apis import init_model
    with torch.no_grad():
        full = init_model(CFG, str(dst)).logits(x)
    torch.testing.assert_close(full, expected, rtol=1e-5, atol=1e-5)

    # rgl's earlier constants (the dataset's std) are refused ...
    from rgl.utils.errors import CheckpointError, ConfigError
    with pytest.raises(ConfigError, match='normalisation .*0.2023'):
        _converter().main([str(src), str(tmp_path / 'x.pth'), '--config',
                           CFG, '--cfg-options',
                           'model.std=[0.2471,0.2435,0.2616]'])
    # ... because the logits under them are far from the reference's
    with torch.no_grad():
        wrong = _certify_classifier(dst, cfg_options={
            'model.std': [0.2471, 0.2435, 0.2616]})(x)
    assert (wrong - expected).abs().max() > 1e-2

    # another depth: a strict mismatch that names the keys
    small = tmp_path / 'r20.pth.tar'
    torch.save(dict(arch='cifar_resnet20',
                    state_dict=_reference(20).state_dict()), small)
    with pytest.raises(CheckpointError, match='missing .*backbone.layer1.3'):
        _converter().main([str(small), str(tmp_path / 'y.pth'), '--config',
                           CFG])


def test_macer_layout_has_no_normalisation(tmp_path):
    from rgl.utils.errors import ConfigError
    net = _reference(normalize=False)
    src = tmp_path / '400.pth'
    torch.save(dict(net=net.state_dict(), epoch=400), src)
    dst = tmp_path / 'macer.pth'
    conv = _converter()
    # trained on raw [0, 1] inputs: the CIFAR-10 constants are refused
    with pytest.raises(ConfigError, match='normalisation none'):
        conv.main([str(src), str(dst), '--config', CFG])
    options = ['--cfg-options', 'model.mean=None', 'model.std=None']
    conv.main([str(src), str(dst), '--config', CFG] + options)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        got = _certify_classifier(dst, cfg_options=dict(
            model=dict(mean=None, std=None)))(x)
        torch.testing.assert_close(got, net(x), rtol=1e-5, atol=1e-5)


def test_stored_normaliser_buffers_and_unknown_arch(tmp_path):
    from rgl.utils.errors import ConfigError
    conv = _converter()
    state = _reference(20).state_dict()
    # a bare Sequential state dict names no arch: the dataset is required
    src = tmp_path / 'bare.pth'
    torch.save(state, src)
    with pytest.raises(ConfigError, match='--dataset'):
        conv.convert(str(src), str(tmp_path / 'o'), CFG)
    # a fork that registered the constants as buffers: read, and compared
    state['0.means'] = torch.tensor([0.5, 0.5, 0.5])
    state['0.sds'] = torch.tensor(CIFAR10_STD)
    torch.save(state, src)
    with pytest.raises(ConfigError, match=r'mean=\[0.5, 0.5, 0.5\]'):
        conv.convert(str(src), str(tmp_path / 'o'), CFG)


def test_imagenet_layout_through_mmpretrain_resnet(tmp_path):
    """locuslab's ImageNet model: Sequential(NormalizeLayer,
    DataParallel(torchvision resnet)) -> `1.module.` keys; rgl's config
    uses mmpretrain's ResNet (depth 18 here to stay small)."""
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=1000)
    with torch.no_grad():
        net.train()(torch.rand(8, 3, 64, 64))  # BatchNorm statistics
    net.eval()
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    state = {'1.module.' + k: v for k, v in net.state_dict().items()}
    src = tmp_path / 'imagenet.pth.tar'
    torch.save(dict(arch='resnet50', state_dict=state), src)
    cfg = os.path.join(REPO_ROOT, 'configs', 'smoothing',
                       'gaussian_resnet50_8xb32-90e_imagenet-sigma0.5.py')
    options = dict(model=dict(backbone=dict(depth=18), in_channels=512))
    dst = tmp_path / 'rgl.pth'
    _converter().convert(str(src), str(dst), cfg, cfg_options=options)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = net((x - torch.tensor(mean)[:, None, None]) /
                       torch.tensor(std)[:, None, None])
        got = _certify_classifier(dst, cfg, options)(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
