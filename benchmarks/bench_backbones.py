"""CPU training speed of each family's smallest member: images/s of one SGD step at 224 px.

For choosing a backbone on a CPU: a full fine-tuning step (forward, backward, optimizer) and a
linear-probe step (frozen backbone, only the head learns) of each family's ``*_fruit.py``
model (random weights, 30 classes), batch 8, at 224 x 224. Families are measured one after the
other; the load average is recorded with the figures (the machines are shared).

    python benchmarks/bench_backbones.py [--quick] [--threads 2]
"""

import os.path as osp
import time

import torch
from common import REPO_ROOT, format_table, parse_args, write_result

#: The smallest member of each family, by its fruit config.
FAMILIES = {
    'MobileNet-v2': 'mobilenet-v2_fruit.py',
    'MobileNet-v3-S': 'mobilenet-v3-small_fruit.py',
    'EfficientNet-B0': 'efficientnet-b0_fruit.py',
    'EfficientNetV2-B0': 'efficientnetv2-b0_fruit.py',
    'RegNetX-400MF': 'regnetx-400mf_fruit.py',
    'ResNet-50': 'resnet50_fruit.py',
    'ResNeXt-50': 'resnext50-32x4d_fruit.py',
    'Wide-ResNet-50': 'wide-resnet50_fruit.py',
    'DenseNet-121': 'densenet121_fruit.py',
    'VGG-16': 'vgg16_fruit.py',
    'ConvNeXt-V2-Atto': 'convnext-v2-atto_fruit.py',
    'ConvNeXt-T': 'convnext-tiny_fruit.py',
    'Swin-T': 'swin-tiny_fruit.py',
    'DeiT-III-S/16': 'deit3-small-p16_fruit.py',
    'DINOv2-S/14': 'vit-small-p14_dinov2_fruit.py',
    'CLIP-B/16': 'vit-base-p16_clip_fruit.py',
}


def step_speed(model, batch: int, size: int, steps: int, frozen: bool) -> float:
    """Images per second of SGD steps on random images (after one warm-up step)."""
    model.train()
    for param in model.backbone.parameters():
        param.requires_grad_(not frozen)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    inputs = torch.randn(batch, 3, size, size)
    labels = torch.randint(0, 30, (batch,))

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs, mode='tensor'), labels)
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def main(argv=None) -> None:
    args = parse_args('backbones', __doc__.splitlines()[0], argv)
    from mmengine.registry import DefaultScope

    import mmtl  # noqa: F401
    from mmtl.config import load_config
    from mmtl.registry import MODELS

    size, batch, steps = {'tiny': (32, 2, 1), 'quick': (224, 8, 2), 'full': (224, 8, 4)}[args.size]
    families = dict(list(FAMILIES.items())[:2]) if args.size == 'tiny' else FAMILIES
    rows, result = [], {}
    for family, config in families.items():
        cfg = load_config(osp.join(REPO_ROOT, 'configs', config))
        with DefaultScope.overwrite_default_scope('mmtl'):
            model = MODELS.build(cfg.model)
        full = step_speed(model, batch, size, steps, frozen=False)
        probe = step_speed(model, batch, size, steps, frozen=True)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        result[family] = dict(config=config, params_m=params, full_ft=full, linear_probe=probe)
        rows.append([family, f'{params:.1f}', f'{full:.1f}', f'{probe:.1f}'])
        print(rows[-1], flush=True)
    table = format_table(
        ['family (smallest member)', 'params (M)', 'full-ft img/s', 'linear-probe img/s'], rows
    )
    write_result(
        args.out, 'backbones', dict(size=size, batch=batch, steps=steps, results=result), table
    )


if __name__ == '__main__':
    main()
