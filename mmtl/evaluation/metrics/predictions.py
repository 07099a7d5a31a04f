"""Per-image predictions of a test run, written as CSV or JSON (``tools/test.py --out``)."""

import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from mmtl.registry import METRICS
from mmtl.utils.errors import ConfigError
from mmtl.utils.fileio import atomic_open
from mmtl.utils.prediction_rows import dump_rows, is_json_path, topk_entries

from .score_metric import ScoreMetric, class_names_from_meta

#: File extensions :class:`PredictionWriter` writes; ``.pkl`` is mmengine's ``DumpResults``
#: (the raw data samples, as OpenMMLab's ``tools/test.py --out result.pkl`` writes them).
PREDICTION_FORMATS = ('.csv', '.json', '.pkl')


def prediction_rows(
    paths: Sequence[str], scores: np.ndarray, labels: np.ndarray, classes: Sequence[str], topk: int
) -> List[dict]:
    """One row per image: path, true and predicted class, score, top-k.

    Args:
        paths (Sequence[str]): Image paths, in test order.
        scores (np.ndarray): ``N x C`` class scores.
        labels (np.ndarray): ``N`` true labels.
        classes (Sequence[str]): Class names by label.
        topk (int): Classes listed per image (at most ``C``).

    Returns:
        list[dict]: ``image``, ``gt_label``, ``gt_class``, ``pred_label``, ``pred_class``,
        ``pred_score``, ``correct`` and ``topk`` (``{'label', 'class', 'score'}``, best first).
    """
    rows = []
    for path, row_scores, label in zip(paths, scores, labels):
        ranked = topk_entries(row_scores, topk, classes)
        pred = ranked[0]['label']
        rows.append(
            {
                'image': path,
                'gt_label': int(label),
                'gt_class': classes[int(label)],
                'pred_label': pred,
                'pred_class': classes[pred],
                'pred_score': ranked[0]['score'],
                'correct': pred == int(label),
                'topk': ranked,
            }
        )
    return rows


def write_prediction_rows(rows: List[dict], path: str) -> None:
    """Write rows as JSON (a list) or CSV (top-k as ``top1_class``, ``top1_score`` ...)."""
    with atomic_open(path, 'w') as f:
        dump_rows(rows, f, is_json_path(path))


def check_prediction_file(path: str) -> None:
    """Refuse an output file mmtl cannot write, before any work.

    Raises:
        ConfigError: The extension is not ``.csv`` or ``.json``, or the folder is missing.
    """
    if osp.splitext(path)[1].lower() not in PREDICTION_FORMATS:
        raise ConfigError(f'--out {path}: must end in .csv or .json (or .pkl for raw results)')
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        raise ConfigError(f'--out {path}: folder {folder} does not exist')


@METRICS.register_module()
class PredictionWriter(ScoreMetric):
    """Write every test image's prediction to a CSV or JSON file (no metric values).

    Rows are in the test dataset's order and each image appears once, also when several
    processes test (mmengine gathers the results on rank 0, which writes the file).

    Args:
        out_file (str): ``.csv`` or ``.json`` file.
        topk (int): Classes listed per image (capped at the class count). Defaults to 5.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Unused (no values are returned). Defaults to None.
    """

    def __init__(self, out_file: str, topk: int = 5, collect_device: str = 'cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        check_prediction_file(out_file)
        if topk < 1:
            raise ConfigError(f'PredictionWriter: topk={topk} must be at least 1')
        self.out_file = out_file
        self.topk = topk
        self.write_error: Optional[str] = None  # why the file could not be written

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep scores, true label and image path of each sample."""
        start = len(self.results)
        super().process(data_batch, data_samples)
        for result, sample in zip(self.results[start:], data_samples):
            result['img_path'] = str(sample.get('img_path', ''))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Write the file; return no metric values."""
        scores, labels = self.stack(results)
        rows = prediction_rows(
            [r['img_path'] for r in results],
            scores,
            labels,
            class_names_from_meta(self.dataset_meta, scores.shape[1]),
            self.topk,
        )
        try:
            write_prediction_rows(rows, self.out_file)
        except OSError as err:  # a full disk: the other metrics are still computed
            self.write_error = f'cannot write {self.out_file}: {err.strerror or err}'
            print(f'error: {self.write_error}', file=sys.stderr, flush=True)
            return {}
        print(f'predictions for {len(rows)} images written to {self.out_file}', flush=True)
        return {}


def add_prediction_writer(cfg: Config, out_file: str, topk: int = 5) -> None:
    """Append a :class:`PredictionWriter` to the config's test evaluator.

    Args:
        cfg (Config): The test config, changed in place.
        out_file (str): ``.csv`` or ``.json`` file (``.pkl``: mmengine's ``DumpResults``).
        topk (int): Classes listed per image. Defaults to 5.
    """
    if out_file.lower().endswith('.pkl'):
        writer = dict(type='DumpResults', out_file_path=out_file)
    else:
        writer = dict(type='PredictionWriter', out_file=out_file, topk=topk)
    append_test_metric(cfg, writer)


def evaluator_metrics(cfg: Config) -> list:
    """The metrics of the config's test evaluator, whatever form it has (none, one metric, a
    list, or an evaluator with ``metrics``).

    Args:
        cfg (Config): The test config.

    Returns:
        list: The metric configs.
    """
    evaluator = cfg.get('test_evaluator')
    metrics = evaluator.get('metrics', evaluator) if isinstance(evaluator, dict) else evaluator
    if metrics is None:
        return []
    return list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]


def append_test_metric(cfg: Config, metric: dict) -> None:
    """Append a metric to the config's test evaluator, whatever form the evaluator has.

    Args:
        cfg (Config): The test config, changed in place.
        metric (dict): The metric's config.
    """
    metrics = evaluator_metrics(cfg) + [metric]
    evaluator = cfg.get('test_evaluator')
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator['metrics'] = metrics
    else:
        cfg.test_evaluator = metrics
