"""Fit temperature scaling on the val split and write a calibrated checkpoint.

    python tools/calibrate.py CONFIG CHECKPOINT --out calibrated.pth [--cfg-options ...]
    mim run mmtl calibrate CONFIG CHECKPOINT --out calibrated.pth

The model's val scores give the temperature T that minimises their log loss (Guo et al.,
2017); the predicted classes do not change, only how sure the model says it is. T is stored
in the new checkpoint as ``head.temperature``, so ``inference_model``, ``tools/infer.py``,
``mim test`` and ``tools/deployment/export.py`` use it. Prints the val log loss and ECE
before and after; fit on val, judge on test (``mim test ... --plots``).
"""

import argparse
import os.path as osp
from typing import Tuple

import numpy as np

from mmtl.utils.cli import exit_tool


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('--out', required=True, help='the calibrated checkpoint to write')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args(argv)


def val_scores(model, cfg) -> Tuple[np.ndarray, np.ndarray]:
    """Softmax scores and labels of the config's val split, as the model gives them now."""
    import torch
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
        loader = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    scores, labels = [], []
    with torch.no_grad():
        for batch in loader:
            for sample in model.val_step(batch):
                scores.append(sample.pred_score.cpu().numpy())
                labels.append(int(sample.gt_label[0]))
    if not labels:
        from mmtl.utils.errors import BadDataError

        raise BadDataError('the val split has no images: temperature scaling is fitted on val')
    return np.stack(scores), np.asarray(labels)


def calibrate(args: argparse.Namespace) -> None:
    import torch

    from mmtl.apis import init_model
    from mmtl.engine.loading import read_weights
    from mmtl.evaluation.calibration import (
        apply_temperature,
        expected_calibration_error,
        fit_temperature,
        log_loss,
        reliability_bins,
    )
    from mmtl.models.heads.temperature import TEMPERATURE_KEY, get_temperature
    from mmtl.utils.errors import BadDataError, ConfigError
    from mmtl.utils.fileio import atomic_open

    if osp.isdir(args.out):
        raise ConfigError(f'--out {args.out} is a folder: give a file name')
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    scores, labels = val_scores(model, model._config)
    try:  # relative to the temperature already applied
        factor = fit_temperature(scores, labels)
    except ValueError as err:
        raise BadDataError(f'{args.checkpoint}: not calibrated: {err}') from None
    temperature = get_temperature(model) * factor
    calibrated = apply_temperature(scores, factor)
    for name, values in (('before', scores), ('after', calibrated)):
        ece = expected_calibration_error(reliability_bins(values, labels))
        print(f'val {name}: log loss {log_loss(values, labels):.4f}, ECE {ece:.1f} points')
    checkpoint = read_weights(args.checkpoint)
    state = dict(checkpoint.get('state_dict', checkpoint))
    state[TEMPERATURE_KEY] = torch.tensor(temperature)
    out = {'state_dict': state, 'meta': checkpoint.get('meta', {})}
    with atomic_open(args.out, 'wb') as f:
        torch.save(out, f)
    print(f'temperature {temperature:.4g} fitted on {len(labels)} val images; wrote {args.out}')


def main(argv=None) -> int:
    args = parse_args(argv)
    calibrate(args)
    return 0


if __name__ == '__main__':
    exit_tool(main)
