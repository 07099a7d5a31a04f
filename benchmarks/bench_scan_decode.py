"""How much a decoding pre-training scan costs: ms per file, header-only vs reduced vs full decode.

    python benchmarks/bench_scan_decode.py [--quick | --tiny] [--repeat 3] [--copies N]

Real photos (scikit-learn's two sample photos, 640 x 427) are saved as JPEG at three sizes
(the native size, 1600 px and 4000 px wide: a phone photo) and as PNG, and each check is
timed on the same files in the same run:

- ``header``: mmtl's current scan (:func:`mmtl.datasets.scan.check_image_file`): header + end
  marker for JPEG, chunk CRCs for PNG;
- ``decode-1/8``: the scan plus a JPEG decode at 1/8 scale (libjpeg-turbo's DCT-domain
  reduction; simplejpeg when installed, else Pillow's ``draft``), a full decode for PNG;
- ``full``: a full-size decode (simplejpeg / Pillow), as a loader without reduction does.

Prints one table (ms per file, and each column as a ratio of ``header``). Copies per size:
20 (full), 6 (``--quick``), 1 (``--tiny``, which also skips the 4000 px photos).
"""

import os
import os.path as osp
import tempfile
import time

import common  # noqa: I001  (puts the repository on sys.path)
from PIL import Image

COPIES = {'tiny': 1, 'quick': 6, 'full': 20}


def sample_photos():
    """The two real sample photos of scikit-learn (RGB uint8)."""
    from sklearn.datasets import load_sample_images

    return load_sample_images().images


def write_files(folder, photos, width, fmt, copies):
    paths = []
    for i in range(copies):
        photo = photos[i % len(photos)]
        img = Image.fromarray(photo)
        height = round(width * photo.shape[0] / photo.shape[1])
        if width != photo.shape[1]:
            img = img.resize((width, height), Image.BICUBIC)
        path = osp.join(folder, f'{fmt}_{width}_{i}.{fmt}')
        img.save(path, quality=90) if fmt == 'jpg' else img.save(path)
        paths.append(path)
    return paths


def time_per_file(func, paths, repeat):
    best = float('inf')
    for _ in range(repeat):
        start = time.perf_counter()
        for path in paths:
            func(path)
        best = min(best, (time.perf_counter() - start) / len(paths))
    return best * 1000.0


def add_options(parser) -> None:
    parser.add_argument('--repeat', type=int, default=3, help='timed passes (best is kept)')
    parser.add_argument('--copies', type=int, default=None, help='files per size')


def main(argv=None) -> dict:
    args = common.parse_args('scan_decode', __doc__.split('\n')[0], argv, add_options)
    copies = args.copies or COPIES[args.size]
    from mmtl.datasets.scan import check_image_file, decode_problem
    from mmtl.datasets.transforms.image_io import ImageHeader

    def full(path):
        with open(path, 'rb') as f:
            ImageHeader(f.read(), path).decode()

    sizes = [('jpg', 640), ('jpg', 1600), ('jpg', 4000), ('png', 640)]
    if args.size == 'tiny':
        sizes = [('jpg', 640), ('png', 640)]
    photos = sample_photos()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for fmt, width in sizes:
            paths = write_files(folder, photos, width, fmt, copies)
            header = time_per_file(check_image_file, paths, args.repeat)
            reduced = time_per_file(
                lambda p: check_image_file(p) or decode_problem(p), paths, args.repeat
            )
            full_ms = time_per_file(full, paths, args.repeat)
            rows.append(
                [
                    f'{fmt} {width}px',
                    round(header, 3),
                    round(reduced, 3),
                    round(full_ms, 3),
                    common.ratio(reduced, header),
                    common.ratio(full_ms, reduced),
                ]
            )
    columns = ['files', 'header ms', 'decode-1/8 ms', 'full ms', '1/8 vs header', 'full vs 1/8']
    table = common.format_table(columns, rows)
    result = dict(size=args.size, copies=copies, rows=[dict(zip(columns, r)) for r in rows])
    common.write_result(args.out, 'scan_decode', result, table)
    return result


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
