"""The strategy advisor (``tools/advise.py``): measure the data and the pretrained features,
recommend, write."""

import math
from dataclasses import asdict
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar
from torch.utils.data import Subset

from mmtl.analysis.dataset_stats import sample_indices
from mmtl.analysis.feature_hooks import block_groups
from mmtl.analysis.model_summary import quiet_mmengine_logger
from mmtl.config.access import model_config, plain
from mmtl.config.strategies import STRATEGIES, fragment_name
from mmtl.datasets.builder import build_dataset
from mmtl.engine.loading import PARTIAL_LOAD_KEY, load_into
from mmtl.registry import MODELS

from .data import (
    DataProfile,
    cap_per_class,
    profile_data,
    val_overlap,
)
from .probe import (
    backbone_stages,
    cross_validated_probe,
    recalibrate_batchnorm,
    ridge_probe_predictions,
    stage_features,
)
from .recommend import Measurements, Recommendation, recommend, recommend_epochs
from .strategies import ADVISED, StrategyContext, lr_range, overrides
from .trials import Candidate

#: Optimizer types whose lr is per-parameter adaptive (smaller lr multiples).
ADAPTIVE_OPTIMIZERS = ('Adam', 'AdamW', 'RAdam', 'NAdam', 'Adamax', 'Lamb', 'Lion')


def build_model(cfg: Config, pretrained: bool) -> torch.nn.Module:
    """The config's model, randomly initialised, with the backbone of ``load_from`` if asked.

    The checkpoint is loaded as ``load_from`` is when training (the transfer rule).

    Raises:
        ConfigError: ``load_from`` does not fit this backbone.
    """
    with quiet_mmengine_logger('WARNING'):  # init_weights logs every tensor at INFO
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmtl')):
            model = MODELS.build(model_config(cfg))
        model.init_weights()
    if pretrained:
        load_into(
            model,
            cfg.load_from,
            'transfer',
            allow_partial=bool(cfg.get(PARTIAL_LOAD_KEY, False)),
            logger=MMLogger.get_current_instance(),
        )
    model.eval()
    return model


def measure(
    cfg: Config,
    max_per_class: Optional[int] = 100,
    max_val: Optional[int] = 500,
    batch_size: int = 64,
    progress: bool = True,
    seed: int = 0,
) -> Tuple[DataProfile, Measurements]:
    """Profile the data and probe each backbone stage, pretrained and random.

    Args:
        cfg (Config): The user's config with ``data_root`` and ``load_from``.
        max_per_class (int, optional): Training images per class the probe uses.
        max_val (int, optional): Val images the probe is scored on.
        batch_size (int): Images per forward pass.
        progress (bool): Show progress bars on the feature extraction.
        seed (int): Seed of the random initialisation and of the image samples.

    Returns:
        tuple: ``(DataProfile, Measurements)``.
    """
    train_set = build_dataset(cfg, 'train', test_pipeline=True)
    val_set = build_dataset(cfg, 'val', test_pipeline=True)
    profile, labels = profile_data(train_set, val_set)
    train_probe = Subset(train_set, cap_per_class(labels, max_per_class, seed))
    val_probe = Subset(val_set, sample_indices(len(val_set), max_val, np.random.default_rng(seed)))
    overlap = val_overlap(train_probe, val_probe)
    # Val images that are training images cannot score a probe fitted on them: score it by
    # cross-validation on the training images instead.
    cross_validate = 2 * overlap >= len(val_probe)
    results, correct = {}, {}
    for name, pretrained in (('pretrained', True), ('random', False)):
        torch.manual_seed(seed)
        model = build_model(cfg, pretrained)
        stages, groups = backbone_stages(model), block_groups(model)
        if not pretrained:
            recalibrate_batchnorm(model, train_probe, batch_size)
        total = len(train_probe) + (0 if cross_validate else len(val_probe))
        bar = None
        if progress:
            print(f'{name} backbone: features of {total} images', flush=True)
            bar = ProgressBar(total).update
        feats, y = stage_features(model, train_probe, stages, batch_size, bar)
        classes = len(profile.classes)
        if cross_validate:
            correct[name] = [cross_validated_probe(feats[s], y, classes, seed=seed) for s in stages]
        else:
            val_feats, val_y = stage_features(model, val_probe, stages, batch_size, bar)
            correct[name] = [
                ridge_probe_predictions(feats[s], y, val_feats[s], classes) == val_y for s in stages
            ]
        if progress:
            print(flush=True)
        results[name] = [float(100.0 * c.mean()) for c in correct[name]]
    meas = Measurements(
        stages,
        results['pretrained'],
        results['random'],
        len(profile.classes),
        groups,
        pretrained_correct=correct['pretrained'],
        random_correct=correct['random'],
        val_overlap=overlap,
        scored_images=len(correct['pretrained'][0]),
        cross_validated=cross_validate,
    )
    return profile, meas


def strategy_context(cfg: Config, meas: Measurements, cut: int, epochs: int) -> StrategyContext:
    """The user's lr and optimizer kind, the stages and the cut, for the strategies."""
    optimizer = cfg.optim_wrapper.get('optimizer', {})
    kind = str(optimizer.get('type', 'SGD')).rpartition('.')[2]
    return StrategyContext(
        lr=float(optimizer.get('lr', 0.01)),
        adaptive=kind in ADAPTIVE_OPTIMIZERS,
        stages=list(meas.stages),
        cut=cut,
        epochs=epochs,
        groups=[list(g) for g in meas.groups] or None,
    )


def advise(cfg: Config, **measure_kwargs) -> Tuple[DataProfile, Measurements, Recommendation]:
    """Measure, then recommend.

    Args:
        cfg (Config): The user's config.
        **measure_kwargs: For :func:`measure`.

    Returns:
        tuple: ``(DataProfile, Measurements, Recommendation)``.
    """
    profile, meas = measure(cfg, **measure_kwargs)
    batch_size = int(cfg.train_dataloader.get('batch_size', 32))
    epochs = recommend_epochs(profile, batch_size, int(cfg.train_cfg.get('max_epochs', 30)))
    rec = recommend(profile, meas, epochs)
    rec.reasons.append(early_stopping_overrides(cfg, epochs)[1])
    return profile, meas, rec


#: Early stopping waits at least this share of the validations of a run (its patience) before
#: it ends the run: the last epochs of a decaying schedule are often the best ones.
MIN_PATIENCE_SHARE = 0.25


def early_stopping_overrides(cfg: Config, epochs: int) -> Tuple[dict, str]:
    """The early-stopping patience that fits a run of ``epochs``, and what it means.

    The config's patience (validations without improvement) is raised to at least
    :data:`MIN_PATIENCE_SHARE` of the run's validations, so that early stopping cannot end a
    run long before its lr schedule has decayed.

    Args:
        cfg (Config): The user's config (its ``default_hooks.early_stopping``).
        epochs (int): The epochs of the run.

    Returns:
        tuple: Overrides for the run's config (empty when early stopping is off or its
        patience fits already) and one sentence on when the run ends.
    """
    hook = (cfg.get('default_hooks') or {}).get('early_stopping')
    if not hook:
        return {}, f'early stopping is off: the run trains all {epochs} epochs'
    interval = int(cfg.train_cfg.get('val_interval', 1))
    patience = int(hook.get('patience', 5))
    needed = math.ceil(MIN_PATIENCE_SHARE * (epochs // interval))
    overrides, raised = {}, ''
    if needed > patience:
        raised = f', raised from {patience} to wait a quarter of the run'
        patience = needed
        overrides = {'default_hooks': {'early_stopping': {'patience': patience}}}
    wait = patience * interval
    if wait >= epochs:
        return overrides, f'early stopping (patience {patience}) cannot end the {epochs} epochs'
    return overrides, (
        f'{epochs} epochs; early stopping (patience {patience} validations{raised}, one every '
        f'{interval} epoch(s)) ends the run sooner once val top-1 has not improved for {wait} '
        f'epochs, at epoch {wait + 1} at the earliest'
    )


def report_dict(
    profile: DataProfile,
    meas: Measurements,
    rec: Recommendation,
    ctx: StrategyContext,
    lr_factor: float = 1.0,
) -> dict:
    """Everything measured and recommended, JSON-ready.

    ``lr``/``lr_range`` are what training uses (after ``auto_scale_lr``'s ``lr_factor``);
    ``lr_in_config`` is the value the written config holds.
    """
    low, mid, high = lr_range(rec.strategy, ctx)
    return {
        'data': asdict(profile) | {'sizes': plain(profile.sizes)},
        'similarity': {
            'stages': meas.stages,
            'pretrained_top1': meas.pretrained,
            'random_top1': meas.random,
            'chance': meas.chance,
            'scored_images': meas.scored_images,
            'val_overlap': meas.val_overlap,
            'cross_validated': meas.cross_validated,
        },
        'recommendation': asdict(rec)
        | {
            'mirrors': fragment_name(rec.strategy),
            'lr': mid * lr_factor,
            'lr_range': [low * lr_factor, high * lr_factor],
            'lr_in_config': mid,
            'auto_scale_factor': lr_factor,
            'frozen': overrides(rec.strategy, ctx).get('model', {}).get('frozen_modules', []),
        },
    }


def format_recommendation(rec: Recommendation, report: dict) -> str:
    """The advisor's last line: strategy, the lr training will use, epochs, frozen modules.

    Args:
        rec (Recommendation): The recommendation.
        report (dict): Its ``recommendation`` entry of :func:`report_dict`.

    Returns:
        str: ``recommended strategy: full-ft (...); lr 0.008 (range ...) after auto_scale_lr
        (the config holds 0.004), 30 epochs, frozen: nothing``.
    """
    (low, high), factor = report['lr_range'], report['auto_scale_factor']
    scaled = ''
    if factor != 1:
        scaled = f' after auto_scale_lr (the config holds {report["lr_in_config"]:.3g})'
    return (
        f"recommended strategy: {rec.strategy} (as mmtl's *{report['mirrors']}: "
        f'{STRATEGIES[rec.strategy].trains}); '
        f'lr {report["lr"]:.3g} (range {low:.3g}-{high:.3g}){scaled}, {rec.epochs} epochs, '
        f'frozen: {", ".join(report["frozen"]) or "nothing"}'
    )


def plot_measurements(meas: Measurements, out_file: str) -> None:
    """PNG: probe top-1 per backbone stage, pretrained vs random, with chance."""
    from mmtl.visualization.figure import new_figure, save_figure

    figure = new_figure((max(6.0, 0.6 * len(meas.stages) + 2), 4.0))
    axes = figure.add_subplot(1, 1, 1)
    x = range(len(meas.stages))
    axes.plot(x, meas.pretrained, marker='o', label='pretrained backbone')
    axes.plot(x, meas.random, marker='s', label='random backbone')
    axes.axhline(meas.chance, color='grey', linestyle=':', label='chance')
    axes.set_xticks(list(x))
    axes.set_xticklabels([s.replace('backbone.', '') for s in meas.stages], rotation=45)
    axes.set_ylabel('val top-1 of a ridge probe (%)')
    axes.set_ylim(0, 100)
    axes.set_title('How well each stage separates your classes')
    axes.legend(loc='lower right', fontsize=8)
    figure.tight_layout()
    save_figure(figure, out_file)


def plot_leaderboard(rows, out_file: str) -> None:
    """PNG: best val top-1 of each candidate's furthest trial, best first."""
    from mmtl.visualization.figure import new_figure, save_figure

    figure = new_figure((6.0, 0.5 * len(rows) + 1.5))
    axes = figure.add_subplot(1, 1, 1)
    names = [f'{r.name} ({r.epochs} ep)' for r in rows][::-1]
    values = [r.top1 if r.top1 is not None else 0.0 for r in rows][::-1]
    axes.barh(
        names,
        values,
        color=['tab:green' if i == len(rows) - 1 else 'tab:blue' for i in range(len(rows))],
    )
    axes.set_xlim(0, 100)
    axes.set_xlabel('best val top-1 (%)')
    axes.set_title('Trials (successive halving)')
    figure.tight_layout()
    save_figure(figure, out_file)


def candidate_list(recommended: str, ctx: StrategyContext, trials: int) -> List[Candidate]:
    """What ``--trials N`` tries: the recommended strategy first, then the other strategies,
    then each at the low and the high end of its lr range; ``trials`` in all.

    Args:
        recommended (str): The recommended strategy.
        ctx (StrategyContext): The user's lr, stages and epochs.
        trials (int): Number of candidates.

    Returns:
        list[Candidate]: The candidates, in priority order.
    """
    names = list(dict.fromkeys([recommended, *ADVISED]))
    cands = [Candidate(n, n, lr_range(n, ctx)[1], overrides(n, ctx)) for n in names]
    for name in names:
        low, _, high = lr_range(name, ctx)
        for tag, lr in (('low-lr', low), ('high-lr', high)):
            cands.append(Candidate(f'{name}_{tag}', name, lr, overrides(name, ctx, lr)))
    return cands[:trials]
