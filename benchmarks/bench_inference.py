"""Inference: ``mmtl.apis.inference_model`` over a folder vs raw forward on decoded tensors.

The model is the fruit config's MobileNet-v2 at 224 x 224 (random weights: speed does not
depend on them). ``inference_model`` gets the folder path and does everything: listing,
decoding, the test pipeline (resize 256, centre crop 224), batching, normalisation, forward,
softmax, result dicts. Both wall-clock and CPU-time figures are kept (CPU time is the
steadier one on a busy machine). The raw figure is ``model(x, mode='tensor')`` alone, on the same
images decoded, cropped and normalised beforehand, in the same batch size. Both run
alternately, best of several rounds. Single-image latency is the median over repeated calls
with one file path, next to the raw forward of one image.

Run: ``python benchmarks/bench_inference.py [--quick | --tiny]``.
"""

import os.path as osp
import statistics
import time

import common  # noqa: I001  (puts the repository on sys.path)
import torch

SIZES = {
    'tiny': dict(images=2, image=(64, 48), batch=2, rounds=1, single=1),
    'quick': dict(images=32, image=(500, 375), batch=16, rounds=2, single=5),
    'full': dict(images=128, image=(500, 375), batch=32, rounds=3, single=15),
}
CONFIG = osp.join(common.REPO_ROOT, 'configs', 'mobilenet-v2_fruit.py')


def build_model():
    from mmtl.apis import init_model

    return init_model(CONFIG, checkpoint=None, device='cpu')


def predecode(model, paths, batch: int):
    """The folder's images through the model's own test pipeline and preprocessor."""
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmtl'):
        pipeline = Compose(model._config.test_dataloader.dataset.pipeline)
        samples = [pipeline(dict(img_path=p)) for p in paths]
    batches = []
    for start in range(0, len(samples), batch):
        data = model.data_preprocessor(pseudo_collate(samples[start : start + batch]))
        batches.append(data['inputs'])
    return batches


def main(argv=None) -> dict:
    from mmtl.apis import inference_model
    from mmtl.datasets.listing import list_image_files

    args = common.parse_args('inference', __doc__.splitlines()[0], argv)
    size = SIZES[args.size]
    width, height = size['image']
    folder = common.make_jpeg_folder(
        osp.join(args.data_dir, f'infer_{width}x{height}_{size["images"]}'),
        width,
        height,
        size['images'] // 2,
    )
    paths = list_image_files(folder, ('.jpg',))
    model = build_model()
    batches = predecode(model, paths, size['batch'])

    def run_api() -> dict:
        start, cpu = time.perf_counter(), time.process_time()
        results = inference_model(model, folder, batch_size=size['batch'])
        assert len(results) == len(paths)
        return {'wall': time.perf_counter() - start, 'cpu': time.process_time() - cpu}

    def run_raw() -> dict:
        start, cpu = time.perf_counter(), time.process_time()
        with torch.no_grad():
            for x in batches:
                model(x, mode='tensor')
        return {'wall': time.perf_counter() - start, 'cpu': time.process_time() - cpu}

    run_api()  # builds and caches the inferencer
    best = common.interleaved_best({'api': run_api, 'raw': run_raw}, size['rounds'])

    one = batches[0][:1]
    api_single, raw_single = [], []
    for _ in range(size['single']):
        start = time.perf_counter()
        inference_model(model, paths[0])
        api_single.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            model(one, mode='tensor')
        raw_single.append(time.perf_counter() - start)

    n = len(paths)
    result = {
        'size': args.size,
        'images': n,
        'image_size': [width, height],
        'batch': size['batch'],
        'api_images_per_s': n / best['api']['wall'],
        'raw_images_per_s': n / best['raw']['wall'],
        'ratio_api_time_to_raw': common.ratio(best['api']['wall'], best['raw']['wall']),
        'api_images_per_cpu_s': n / best['api']['cpu'],
        'raw_images_per_cpu_s': n / best['raw']['cpu'],
        'cpu_ratio_api_to_raw': common.ratio(best['api']['cpu'], best['raw']['cpu']),
        'api_single_ms': statistics.median(api_single) * 1e3,
        'raw_single_ms': statistics.median(raw_single) * 1e3,
    }
    result['ratio_single_api_to_raw'] = common.ratio(
        result['api_single_ms'], result['raw_single_ms']
    )
    table = common.format_table(
        ['what', 'inference_model', 'raw forward', 'time ratio'],
        [
            [
                f'folder of {n} ({width}x{height}), images/s',
                result['api_images_per_s'],
                result['raw_images_per_s'],
                result['ratio_api_time_to_raw'],
            ],
            [
                f'folder of {n}, images / CPU s',
                result['api_images_per_cpu_s'],
                result['raw_images_per_cpu_s'],
                result['cpu_ratio_api_to_raw'],
            ],
            [
                'one image, ms',
                result['api_single_ms'],
                result['raw_single_ms'],
                result['ratio_single_api_to_raw'],
            ],
        ],
    )
    common.write_result(args.out, 'inference', result, table)
    return result


if __name__ == '__main__':
    main()
