"""mmtl beside the loops a user would otherwise pick: timm, a torchvision-reference loop, stock
mmpretrain. End-to-end training and folder inference on the same photos, one run.

Training, for MobileNet-v2 and ResNet-18, same folder of 500x375 JPEG photos, same batch,
same augmentation (random resized crop to 224, area 0.08-1, aspect 3/4-4/3, horizontal flip
0.5, ImageNet normalisation), same SGD, one PyTorch thread, data loading in the main process
(so the process's CPU time is all the work):

- ``mmtl``: mmtl's fruit config (FolderDataset, LoadAndRandomResizedCrop, its data
  preprocessor), ``model.train_step`` through the optimizer wrapper the precision needs
  (the Runner's own overhead is bench_framework's figure, 1.03x);
- ``timm``: ``timm.data.create_dataset`` / ``create_loader`` (no prefetcher, no colour jitter)
  and ``timm.create_model``, and the step of timm's ``train.py`` (autocast for bf16, as
  ``--amp --amp-dtype bfloat16``);
- ``torchvision``: the classification reference's preset (``ImageFolder``, PIL,
  ``RandomResizedCrop``, ``RandomHorizontalFlip``, ``PILToTensor``, ``Normalize``) and a plain
  loop;
- ``mmpretrain``: stock mmpretrain (``CustomDataset``, ``LoadImageFromFile``,
  ``RandomResizedCrop``, ``RandomFlip``), ``train_step`` with mmengine's ``OptimWrapper``.

fp32 for all, and bf16 autocast for mmtl and timm. The contenders are interleaved round by
round; each figure is the best round (images/s wall clock, and images per CPU-second).

Inference (MobileNet-v2, the same photos, batch 32): ``mmtl.apis.inference_model`` vs timm's
eval loader + forward, and mmtl's ONNX export + ``OnnxClassifier`` vs timm's model exported
the same way + onnxruntime with timm's loader (1 intra-op thread each).

``--profile`` adds a cProfile of each mmtl contender's training iterations (top functions by
cumulative time), to see where mmtl spends its time where it is behind.

Run: ``python benchmarks/bench_peers.py [--quick | --tiny] [--profile]``. Needs timm
(``pip install -r requirements/benchmarks.txt``).
"""

import contextlib
import cProfile
import io
import os
import os.path as osp
import pstats
import sys
import tempfile
import time
from typing import Callable, Iterator

import common  # noqa: I001  (puts the repository on sys.path)
import torch
import torch.nn.functional as F

SIZES = {
    'tiny': dict(per_class=4, batch=4, iters=1, rounds=1, archs=['mobilenet_v2'], infer=8),
    'quick': dict(
        per_class=48, batch=32, iters=2, rounds=2, archs=['mobilenet_v2', 'resnet18'], infer=64
    ),
    'full': dict(
        per_class=160, batch=32, iters=5, rounds=3, archs=['mobilenet_v2', 'resnet18'], infer=256
    ),
}
IMAGE = (500, 375)
CLASSES = 2
LR = 0.01
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: mmtl / mmpretrain base model config, timm name, torchvision constructor.
MODELS = {
    'mobilenet_v2': ('mobilenet_v2_1x', 'mobilenetv2_100', 'mobilenet_v2'),
    'resnet18': ('resnet18', 'resnet18', 'resnet18'),
}
FRUIT_CONFIG = osp.join(common.REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py')


def forever(loader) -> Iterator:
    """Batches of ``loader``, epoch after epoch."""
    while True:
        yield from loader


def _base_model(arch: str) -> dict:
    from mmengine.config import Config

    path = osp.join(common.REPO_ROOT, 'configs', '_base_', 'models', f'{MODELS[arch][0]}.py')
    model = Config.fromfile(path).model
    model.head.num_classes = CLASSES
    model.head.topk = (1,)
    return model


def _optim_wrapper(model, bf16: bool):
    from mmengine.optim import OptimWrapper

    from mmtl.engine.optim_wrappers import BF16AutocastOptimWrapper

    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    return BF16AutocastOptimWrapper(optimizer=optimizer) if bf16 else OptimWrapper(optimizer)


def mmtl_trainer(root: str, arch: str, batch: int, bf16: bool) -> Callable[[], None]:
    """One mmtl training iteration: mmtl's dataset/pipeline/preprocessor + ``train_step``."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from mmtl.config.load import load_config
    from mmtl.registry import MODELS as MMTL_MODELS

    cfg = load_config(
        FRUIT_CONFIG,
        {
            'data_root': root,
            'load_from': None,
            'train_dataloader.batch_size': batch,
            'train_dataloader.num_workers': 0,
        },
    )
    model_cfg = _base_model(arch)
    model_cfg.data_preprocessor = dict(cfg.data_preprocessor)  # TransferDataPreprocessor
    with DefaultScope.overwrite_default_scope('mmtl'):
        torch.manual_seed(0)
        model = MMTL_MODELS.build(model_cfg).train()
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    wrapper = _optim_wrapper(model, bf16)
    batches = forever(loader)
    return lambda: model.train_step(next(batches), wrapper)


def mmpretrain_trainer(root: str, arch: str, batch: int) -> Callable[[], None]:
    """One stock mmpretrain iteration: CustomDataset + stock transforms + ``train_step``."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=224),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    loader_cfg = dict(
        batch_size=batch,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type='CustomDataset', data_root=osp.join(root, 'train'), pipeline=pipeline),
    )
    model_cfg = _base_model(arch)
    model_cfg.type = 'ImageClassifier'  # stock mmpretrain: not mmtl's TransferClassifier
    model_cfg.data_preprocessor = dict(
        type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        to_rgb=True,
    )  # fmt: skip
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        model = MMPRETRAIN_MODELS.build(model_cfg).train()
        loader = Runner.build_dataloader(loader_cfg, seed=0)
    wrapper = _optim_wrapper(model, False)
    batches = forever(loader)
    return lambda: model.train_step(next(batches), wrapper)


def plain_step(model, optimizer, batches: Iterator, bf16: bool) -> Callable[[], None]:
    """The step of timm's train.py / torchvision's reference: autocast, CE, backward, SGD."""

    def step() -> None:
        x, y = next(batches)
        ctx = torch.autocast('cpu', torch.bfloat16) if bf16 else contextlib.nullcontext()
        with ctx:
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def timm_trainer(root: str, arch: str, batch: int, bf16: bool) -> Callable[[], None]:
    """One iteration of timm's training loop on timm's dataset and loader."""
    import timm
    from timm.data import create_dataset, create_loader

    dataset = create_dataset('', root=osp.join(root, 'train'), split='train', is_training=True)
    loader = create_loader(
        dataset, input_size=(3, 224, 224), batch_size=batch, is_training=True,
        scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), hflip=0.5, color_jitter=None,
        interpolation='bilinear', mean=MEAN, std=STD, num_workers=0, use_prefetcher=False,
        persistent_workers=False, device=torch.device('cpu'),
    )  # fmt: skip
    torch.manual_seed(0)
    model = timm.create_model(MODELS[arch][1], pretrained=False, num_classes=CLASSES).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    return plain_step(model, optimizer, forever(loader), bf16)


def torchvision_trainer(root: str, arch: str, batch: int) -> Callable[[], None]:
    """One iteration of a torchvision-reference-style loop."""
    import torchvision
    from torchvision import transforms as T

    transform = T.Compose(
        [
            T.RandomResizedCrop(224, antialias=True),
            T.RandomHorizontalFlip(0.5),
            T.PILToTensor(),
            T.ConvertImageDtype(torch.float),
            T.Normalize(MEAN, STD),
        ]
    )
    dataset = torchvision.datasets.ImageFolder(osp.join(root, 'train'), transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0)
    torch.manual_seed(0)
    model = getattr(torchvision.models, MODELS[arch][2])(num_classes=CLASSES).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    return plain_step(model, optimizer, forever(loader), False)


def _timed_run(step: Callable[[], None], iters: int) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    return dict(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu)


def profile(step: Callable[[], None], iters: int, top: int = 12) -> str:
    """cProfile of ``iters`` calls of ``step``: the top functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iters):
        step()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats('cumulative').print_stats(top)
    return out.getvalue()


def measure_training(root: str, size: dict, with_profile: bool) -> dict:
    """images/s and images per CPU-second of every contender, interleaved round by round."""
    results, profiles = {}, {}
    for arch in size['archs']:
        steps = {
            'mmtl fp32': mmtl_trainer(root, arch, size['batch'], False),
            'mmtl bf16': mmtl_trainer(root, arch, size['batch'], True),
            'timm fp32': timm_trainer(root, arch, size['batch'], False),
            'timm bf16': timm_trainer(root, arch, size['batch'], True),
            'torchvision fp32': torchvision_trainer(root, arch, size['batch']),
            'mmpretrain fp32': mmpretrain_trainer(root, arch, size['batch']),
        }
        for step in steps.values():  # warm-up: first batches, allocator, oneDNN primitives
            step()
        best = common.interleaved_best(
            {name: (lambda s=step: _timed_run(s, size['iters'])) for name, step in steps.items()},
            size['rounds'],
        )
        images = size['batch'] * size['iters']
        results[arch] = {
            name: dict(images_per_s=images / t['wall'], images_per_cpu_s=images / t['cpu'])
            for name, t in best.items()
        }
        if with_profile and arch == size['archs'][0]:
            for name in ('mmtl fp32', 'timm fp32'):
                profiles[f'{arch} {name}'] = profile(steps[name], size['iters'])
    return dict(results=results, profiles=profiles)


def measure_inference(root: str, size: dict) -> dict:
    """Folder inference images/s, eager and ONNX: mmtl vs timm (MobileNet-v2, batch 32)."""
    import numpy as np
    import onnxruntime as ort
    import timm
    from timm.data import create_dataset, create_loader

    from mmtl.apis import inference_model, init_model
    from mmtl.datasets.listing import list_image_files
    from mmtl.deployment import export_classifier
    from mmtl.deployment.onnx_inferencer import OnnxClassifier

    folder = osp.join(root, 'train')
    paths = list_image_files(folder, ('.jpg',))[: size['infer']]
    batch = min(32, len(paths))
    model = init_model(
        FRUIT_CONFIG, checkpoint=None, device='cpu',
        cfg_options={'model.head.num_classes': CLASSES, 'load_from': None},
    )  # fmt: skip
    tmodel = timm.create_model('mobilenetv2_100', pretrained=False, num_classes=CLASSES).eval()
    dataset = create_dataset('', root=folder, split='validation')
    dataset.reader.samples = dataset.reader.samples[: len(paths)]
    loader = create_loader(
        dataset, input_size=(3, 224, 224), batch_size=batch, is_training=False,
        interpolation='bilinear', mean=MEAN, std=STD, num_workers=0, crop_pct=0.875,
        use_prefetcher=False, persistent_workers=False, device=torch.device('cpu'),
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        export_classifier(model, osp.join(tmp, 'mmtl_onnx'))
        onnx_mmtl = OnnxClassifier(osp.join(tmp, 'mmtl_onnx'), num_threads=1)
        timm_onnx = osp.join(tmp, 'timm.onnx')
        torch.onnx.export(
            tmodel, torch.randn(1, 3, 224, 224), timm_onnx, input_names=['input'],
            output_names=['logits'], dynamic_axes={'input': {0: 'batch'}}, dynamo=False,
        )  # fmt: skip
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(timm_onnx, options, providers=['CPUExecutionProvider'])

        def mmtl_eager():
            assert len(inference_model(model, paths, batch_size=batch)) == len(paths)

        def timm_eager():
            with torch.no_grad():
                for x, _ in loader:
                    tmodel(x).softmax(-1)

        def mmtl_onnx():
            assert len(onnx_mmtl(paths, batch_size=batch)) == len(paths)

        def timm_ort():
            for x, _ in loader:
                (logits,) = session.run(None, {'input': x.numpy()})
                np.exp(logits)

        funcs = dict(
            mmtl_eager=mmtl_eager, timm_eager=timm_eager, mmtl_onnx=mmtl_onnx, timm_onnx=timm_ort
        )
        for func in funcs.values():
            func()  # warm-up
        best = common.interleaved_best(
            {name: (lambda f=func: _timed_run(f, 1)) for name, func in funcs.items()},
            size['rounds'],
        )
    return {
        name: dict(images_per_s=len(paths) / t['wall'], images_per_cpu_s=len(paths) / t['cpu'])
        for name, t in best.items()
    }


def ratios(training: dict, inference: dict) -> dict:
    """mmtl / peer, images per CPU-second (the steadier figure) and images/s."""
    out = {}
    pairs = [
        ('mmtl fp32', 'timm fp32'),
        ('mmtl bf16', 'timm bf16'),
        ('mmtl fp32', 'torchvision fp32'),
        ('mmtl fp32', 'mmpretrain fp32'),
        ('mmtl bf16', 'mmtl fp32'),
        ('timm bf16', 'timm fp32'),
    ]
    for arch, res in training.items():
        for a, b in pairs:
            out[f'{arch}: {a} / {b}'] = dict(
                cpu=common.ratio(res[a]['images_per_cpu_s'], res[b]['images_per_cpu_s']),
                wall=common.ratio(res[a]['images_per_s'], res[b]['images_per_s']),
            )
    for kind in ('eager', 'onnx'):
        a, b = inference[f'mmtl_{kind}'], inference[f'timm_{kind}']
        out[f'inference {kind}: mmtl / timm'] = dict(
            cpu=common.ratio(a['images_per_cpu_s'], b['images_per_cpu_s']),
            wall=common.ratio(a['images_per_s'], b['images_per_s']),
        )
    return out


def tables(training: dict, inference: dict, ratio_table: dict) -> str:
    rows = []
    for arch, res in training.items():
        for name, r in res.items():
            rows.append([arch, name, r['images_per_s'], r['images_per_cpu_s']])
    for name, r in inference.items():
        rows.append(['mobilenet_v2 inference', name, r['images_per_s'], r['images_per_cpu_s']])
    text = common.format_table(['model', 'contender', 'img/s', 'img per CPU-s'], rows)
    rows = [[name, r['cpu'], r['wall']] for name, r in ratio_table.items()]
    return (
        text + '\n\n' + common.format_table(['ratio (>= 1: mmtl ahead)', 'per CPU-s', 'wall'], rows)
    )


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    with_profile = '--profile' in argv
    if with_profile:
        argv.remove('--profile')
    args = common.parse_args('peers', __doc__.splitlines()[0], argv)
    try:
        import timm  # noqa: F401
    except ImportError:
        message = (
            'bench_peers: timm is not installed, so nothing was measured; '
            'pip install --no-deps -r requirements/benchmarks.txt'
        )
        common.write_result(args.out, 'peers', dict(skipped=True, reason=message), message)
        return dict(skipped=True, reason=message)
    size = SIZES[args.size]
    root = osp.join(args.data_dir, f'peers_{IMAGE[0]}x{IMAGE[1]}_{size["per_class"]}')
    common.make_jpeg_folder(osp.join(root, 'train'), *IMAGE, size['per_class'], CLASSES)
    training = measure_training(root, size, with_profile)
    inference = measure_inference(root, size)
    ratio_table = ratios(training['results'], inference)
    goals = {  # mmtl against each peer (not bf16 against fp32)
        name: common.goal(r['cpu'], 1.0)
        for name, r in ratio_table.items()
        if name.startswith('inference') or (': mmtl' in name and '/ mmtl' not in name)
    }
    result = dict(
        goals=goals,
        size=args.size, image=IMAGE, batch=size['batch'], iters=size['iters'],
        training=training['results'], inference=inference, ratios=ratio_table,
        profiles=training['profiles'],
    )  # fmt: skip
    text = tables(training['results'], inference, ratio_table)
    text += '\n\n' + common.goal_table('goal (#16 peers, per CPU-s)', goals)
    common.write_result(args.out, 'peers', result, text)
    for name, text in training['profiles'].items():
        print(f'== cProfile: {name}\n{text}')
    return result


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
