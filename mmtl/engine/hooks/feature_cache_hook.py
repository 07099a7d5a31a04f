"""Compute the frozen prefix once per image and view; later epochs train the rest on its output.

:class:`FeatureCacheHook` finds the frozen prefix (:func:`mmtl.models.feature_cache.find_cut`),
runs it once over the training images (view 0: the test-time view; views ``1..views``: seeded
draws of the train pipeline) and stores the tensors in RAM or a memory-mapped ``.npy``. While
the prefix stays frozen each epoch trains on one random view per image; each rank stores the
shard ``DefaultSampler`` gives it. Optionally the head is first fitted with the exact probe.
"""

import contextlib
import copy
import os
import os.path as osp
import random
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import Compose, DefaultSampler, pseudo_collate
from mmengine.dist import all_gather, broadcast, get_dist_info, is_main_process
from mmengine.hooks import Hook
from torch.utils.data import DataLoader, Dataset, Sampler

from mmtl.models.feature_cache import (
    BACKBONE_STEPS,
    features_as_inputs,
    find_cut,
    prefix_digest,
    run_prefix,
)
from mmtl.models.probe_solver import DEFAULT_WEIGHT_DECAYS, fit_linear_probe
from mmtl.registry import HOOKS
from mmtl.utils.errors import ConfigError
from mmtl.utils.fileio import atomic_open, check_fits, default_cache_dir, files_key
from mmtl.utils.modules import bare_model, evaluation_mode

from .progress_bar_hook import interactive_terminal

#: Where the features can be kept.
STORE_MODES = ('ram', 'disk')

#: Head class name -> its final linear layer, which the exact probe sets.
HEAD_LINEAR = {
    'LinearClsHead': 'fc',
    'VisionTransformerClsHead': 'layers.head',
}


def shard_indices(length: int, rank: int, world_size: int) -> List[int]:
    """The samples ``DefaultSampler(round_up=True)`` gives ``rank`` (before shuffling)."""
    if length == 0:
        return []
    total = -(-length // world_size) * world_size
    padded = (list(range(length)) * (total // length + 1))[:total]
    return padded[rank:total:world_size]


class _View(Dataset):
    """Samples ``indices`` of ``dataset`` through ``pipeline``, seeded per (view, sample)."""

    def __init__(self, dataset, indices: List[int], pipeline, seed: Optional[int]) -> None:
        self.dataset = copy.copy(dataset)
        self.dataset.pipeline = pipeline
        self.indices = indices
        self.seed = seed

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        if self.seed is not None:
            seed = (self.seed * 1_000_003 + i) % 2**31
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
        return self.dataset[self.indices[i]]


class FeatureDataset(Dataset):
    """Stored features (row ``image * views + view``) with their labels, as model inputs."""

    def __init__(self, features, labels: torch.Tensor, views: int) -> None:
        self.features = features
        self.labels = labels
        self.views = views

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, row: int) -> dict:
        from mmpretrain.structures import DataSample

        feature = torch.as_tensor(np.array(self.features[row]))
        label = int(self.labels[row // self.views])
        return dict(inputs=feature, data_samples=DataSample().set_gt_label(label))


class ViewSampler(Sampler):
    """Each epoch: the images in a (seeded) random order, each with one of its views.

    Args:
        images (int): Images in this rank's shard.
        views (int): Stored views per image.
        shuffle (bool): Shuffle the images each epoch.
        seed (int): Base seed; epoch ``e`` draws with ``seed + e``.
    """

    def __init__(self, images: int, views: int, shuffle: bool, seed: int) -> None:
        self.images, self.views, self.shuffle, self.seed = images, views, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.images

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.images, generator=gen) if self.shuffle else None
        order = torch.arange(self.images) if order is None else order
        view = torch.randint(0, self.views, (self.images,), generator=gen)
        return iter((order * self.views + view).tolist())


@HOOKS.register_module()
class FeatureCacheHook(Hook):
    """Train on stored outputs of the frozen prefix; optionally fit the head exactly first.

    Example::

        model = dict(type='TransferClassifier', frozen_modules=['backbone'])
        custom_hooks = [dict(type='FeatureCacheHook', views=4)]

    Args:
        views (int): Augmented views stored per image besides the test-time view. Defaults
            to 0: the test-time view only (the linear-evaluation protocol).
        store (str): ``'ram'`` or ``'disk'`` (a memory-mapped file in ``cache_dir``, reused
            by later runs with the same weights, cut, views and images). Defaults to ``'ram'``.
        cache_dir (str, optional): Folder of the disk store. Defaults to None:
            ``default_cache_dir('features')`` (:mod:`mmtl.utils.fileio`).
        solve_head (bool): Before training, set the head's final linear layer to the
            multinomial logistic regression fitted with L-BFGS on the train features
            (weight decay picked on val top-1) and save the model as ``exact_probe.pth``
            in the work dir. Before a fine-tune, this is LP-FT from the optimal head.
            Defaults to False.
        stop_after_solve (bool): With ``solve_head``, train no epoch: the saved model is the
            exact linear probe. Defaults to False.
        cache (bool): Store features and train on them when a prefix is frozen. Defaults to
            True (False: only ``solve_head``).
        weight_decays (Sequence[float], optional): The probe's grid. Defaults to
            :data:`mmtl.models.probe_solver.DEFAULT_WEIGHT_DECAYS`.
        batch_size (int, optional): Images per extraction batch. Defaults to the train
            loader's.
    """

    # After GradualUnfreezeHook (ABOVE_NORMAL): an epoch that unfreezes the prefix trains on
    # images again.
    priority = 'BELOW_NORMAL'

    def __init__(
        self,
        views: int = 0,
        store: str = 'ram',
        cache_dir: Optional[str] = None,
        solve_head: bool = False,
        stop_after_solve: bool = False,
        cache: bool = True,
        weight_decays: Optional[Sequence[float]] = None,
        batch_size: Optional[int] = None,
    ) -> None:
        if int(views) < 0:
            raise ConfigError(f'FeatureCacheHook: views={views!r} must be >= 0')
        if store not in STORE_MODES:
            raise ConfigError(f'FeatureCacheHook: store={store!r}; choose from {STORE_MODES}')
        self.views = int(views) + 1
        self.store = store
        self.cache_dir = cache_dir
        self.solve_head = solve_head
        self.stop_after_solve = stop_after_solve
        self.cache = cache
        self.weight_decays = tuple(weight_decays or DEFAULT_WEIGHT_DECAYS)
        self.batch_size = batch_size
        self.cut: Optional[str] = None
        self.features = None
        self.labels: Optional[torch.Tensor] = None
        self.key: Optional[str] = None
        self.extracted = False  # whether the last build computed (not read) the features
        self._image_loader = None
        self._feature_loader = None
        self._context = contextlib.ExitStack()

    # ----------------------------------------------------------------------------- helpers
    def _shard(self):
        """The train dataset and the indices of this rank's shard."""
        dataset = self._image_loader.dataset
        rank, world_size = get_dist_info()
        return dataset, shard_indices(len(dataset), rank, world_size)

    @staticmethod
    def _test_view(runner, dataset, indices: List[int]):
        """The test-time view of ``indices`` (the val loader's pipeline) and its spec."""
        cfg = runner.cfg.get('val_dataloader') or runner.cfg.get('test_dataloader')
        if not cfg:
            raise ConfigError('FeatureCacheHook: needs val_dataloader (its test-time pipeline)')
        pipeline = cfg['dataset']['pipeline']
        return _View(dataset, indices, Compose(copy.deepcopy(pipeline)), None), repr(pipeline)

    def _extract(self, model, fn, views):
        """``fn(preprocessed inputs)`` for every batch of every view; (features, labels)."""
        chunks, labels = [], []
        bar = None
        if interactive_terminal() and is_main_process():
            from mmengine.utils import ProgressBar

            print('feature cache: first pass')
            bar = ProgressBar(sum(len(v) for v in views))
        like = self._image_loader
        states = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            for view in views:
                view_labels = []
                loader = DataLoader(
                    view,
                    batch_size=self.batch_size or like.batch_sampler.batch_size,
                    num_workers=like.num_workers,
                    collate_fn=pseudo_collate,
                )
                for batch in loader:
                    data = model.data_preprocessor(batch, False)
                    chunks.append(fn(data['inputs']).detach().cpu())
                    view_labels.extend(int(s.gt_label[0]) for s in batch['data_samples'])
                    if bar is not None:
                        bar.update(len(batch['data_samples']))
                labels.append(torch.tensor(view_labels, dtype=torch.long))
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])
        if bar is not None:
            print()
        return torch.cat(chunks) if chunks else torch.zeros(0), labels

    # ------------------------------------------------------------------------------- build
    def build_cache(self, runner, model, cut: str) -> None:
        """Store the tensors at ``cut`` for this rank's shard, every view (first pass)."""
        dataset, indices = self._shard()
        test_view, spec = self._test_view(runner, dataset, indices)
        seed = int(runner.seed or 0)
        views = [test_view]
        views += [_View(dataset, indices, dataset.pipeline, seed + v) for v in range(1, self.views)]
        if self.views > 1:  # the test-time view needs no seed: runs of any seed share it
            spec += f'\n{dataset.pipeline!r}\nviews={self.views}\nseed={seed}'
        paths = [dataset.get_data_info(i)['img_path'] for i in indices]
        self.key = files_key(paths, prefix_digest(model, cut), spec)
        folder = None
        if self.store == 'disk':
            folder = osp.expanduser(self.cache_dir or default_cache_dir('features'))
            os.makedirs(folder, exist_ok=True)
            path = osp.join(folder, f'{self.key}.npy')
            labels_path = osp.join(folder, f'{self.key}.labels.npy')
            if osp.isfile(path) and osp.isfile(labels_path):
                self.features = np.load(path, mmap_mode='r')
                self.labels = torch.from_numpy(np.load(labels_path))
                self.extracted = False
                runner.logger.info(f'feature cache: read {len(self.features)} features ({path})')
                return
        with evaluation_mode(model):
            if indices:  # one image gives the size of the store, checked before filling it
                first = model.data_preprocessor(pseudo_collate([views[0][0]]), False)
                row = run_prefix(model, first['inputs'], cut)[0]
                nbytes = row.numel() * row.element_size() * len(views) * len(indices)
                what = f'FeatureCacheHook: store={self.store!r}'
                hint = 'use fewer views or remove the hook'
                # The first pass gathers the features in memory also when they are then written.
                check_fits(nbytes, what, hint)
                if folder is not None:
                    check_fits(nbytes, what, hint, folder)
            feats, labels = self._extract(model, lambda x: run_prefix(model, x, cut), views)
        # Rows image-major: image i, view v at i * views + v.
        feats = feats.reshape(self.views, len(indices), *feats.shape[1:]).transpose(0, 1)
        feats = feats.reshape(len(indices) * self.views, *feats.shape[2:]).contiguous()
        self.labels = labels[0]
        self.extracted = True
        self.features = feats
        if folder is not None:  # the features last: their file says the store is complete
            for target, array in ((labels_path, self.labels), (path, feats)):
                with atomic_open(target, 'wb') as f:
                    np.save(f, array.numpy())
            self.features = np.load(path, mmap_mode='r')
        runner.logger.info(
            f'feature cache: {len(indices)} images x {self.views} views at {cut!r}, '
            f'{tuple(feats.shape[1:])} each, {feats.numel() * 4 / 2**20:.1f} MiB ({self.store})'
        )

    def _feature_loader_for(self, runner) -> DataLoader:
        """The train loader's batching (same batch count) over the stored features."""
        like = self._image_loader.batch_sampler
        batch_sampler = copy.copy(like)
        batch_sampler.sampler = ViewSampler(
            len(self.labels), self.views, bool(like.sampler.shuffle), int(runner.seed or 0)
        )
        return DataLoader(
            FeatureDataset(self.features, self.labels, self.views),
            batch_sampler=batch_sampler,
            collate_fn=pseudo_collate,
            num_workers=0,
        )

    # ------------------------------------------------------------------------------- probe
    def _head_inputs(self, runner, model) -> torch.Tensor:
        """The head's final-layer inputs for the train rows (all views), eval mode."""
        if self.features is not None:
            rows = []
            with evaluation_mode(model), features_as_inputs(model, self.cut):
                for start in range(0, len(self.features), 256):
                    chunk = torch.as_tensor(np.array(self.features[start : start + 256]))
                    x = model.data_preprocessor({'inputs': chunk}, False)['inputs']
                    rows.append(model.extract_feat(x, stage='pre_logits').cpu())
            return torch.cat(rows), self.labels.repeat_interleave(self.views)
        view, _ = self._test_view(runner, *self._shard())
        with evaluation_mode(model):
            feats, labels = self._extract(
                model, lambda x: model.extract_feat(x, stage='pre_logits'), [view]
            )
        return feats, labels[0]

    def _val_inputs(self, runner, model):
        loader = runner.val_loop.dataloader if runner._val_loop is not None else None
        if loader is None:
            return None, None
        feats, labels = [], []
        with evaluation_mode(model):
            for batch in loader:
                data = model.data_preprocessor(batch, False)
                feats.append(model.extract_feat(data['inputs'], stage='pre_logits').cpu())
                labels.extend(int(s.gt_label[0]) for s in batch['data_samples'])
        return torch.cat(feats), torch.tensor(labels, dtype=torch.long)

    def fit_head(self, runner, model) -> None:
        """Set the head's final linear layer to the exact probe; save ``exact_probe.pth``."""
        name = HEAD_LINEAR.get(type(model.head).__name__)
        linear = model.head.get_submodule(name) if name else None
        if not isinstance(linear, torch.nn.Linear):
            raise ConfigError(
                f'FeatureCacheHook(solve_head=True): head {type(model.head).__name__} has no '
                f'known final linear layer (supported: {sorted(HEAD_LINEAR)})'
            )
        train_x, train_y = self._head_inputs(runner, model)
        val_x, val_y = self._val_inputs(runner, model)
        train_x, train_y = torch.cat(all_gather(train_x)), torch.cat(all_gather(train_y))
        if val_x is not None:
            val_x, val_y = torch.cat(all_gather(val_x)), torch.cat(all_gather(val_y))
        fit = fit_linear_probe(
            train_x, train_y, linear.out_features, val_x, val_y, self.weight_decays
        )
        with torch.no_grad():
            linear.weight.copy_(fit.weight.to(linear.weight))
            linear.bias.copy_(fit.bias.to(linear.bias))
            broadcast(linear.weight.data)
            broadcast(linear.bias.data)
        shown = '-' if fit.val_top1 is None else f'{fit.val_top1:.2f} %'
        runner.logger.info(
            f'exact probe: {len(train_x)} train features, weight decay {fit.weight_decay:g}, '
            f'train top-1 {fit.train_top1:.2f} %, val top-1 {shown}'
        )
        runner.message_hub.update_info('exact_probe_weight_decay', fit.weight_decay)
        runner.save_checkpoint(runner.work_dir, 'exact_probe.pth', save_optimizer=False)

    # ------------------------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Build the cache (first pass) and fit the head when asked."""
        model = bare_model(runner.model)
        self._image_loader = runner.train_loop.dataloader
        model.train()
        self.cut = find_cut(model) if self.cache else None
        sampler = self._image_loader.batch_sampler.sampler
        if self.cut is not None and not isinstance(sampler, DefaultSampler):
            runner.logger.warning(
                f'feature cache off: the train sampler is {type(sampler).__name__}, '
                'not DefaultSampler'
            )
            self.cut = None
        if self.cut is not None and getattr(model.data_preprocessor, 'batch_augments', None):
            runner.logger.warning(
                "feature cache: the data preprocessor's batch augments (Mixup, CutMix) are "
                'not applied to cached features'
            )
        if self.cut is not None:
            self.build_cache(runner, model, self.cut)
            self._feature_loader = self._feature_loader_for(runner)
        elif self.cache:
            backbone = type(model.backbone).__name__
            line = 'feature cache off: no frozen prefix at the start of training'
            if backbone not in BACKBONE_STEPS:
                line += (
                    f' (cuts inside {backbone} are not supported: the whole backbone must be '
                    f'frozen; inside {sorted(BACKBONE_STEPS)})'
                )
            runner.logger.info(line)
        if self.solve_head:
            self.fit_head(runner, model)
            if self.stop_after_solve:
                runner.train_loop.stop_training = True

    def before_train_epoch(self, runner) -> None:
        """Train on the stored features while the prefix stays frozen."""
        if self._feature_loader is None:
            return
        model = bare_model(runner.model)
        model.train()
        if find_cut(model) != self.cut:
            runner.logger.info(
                f'feature cache off from epoch {runner.epoch + 1}: '
                f'the prefix up to {self.cut!r} is no longer frozen'
            )
            self._feature_loader = self.features = None
            runner.train_loop.dataloader = self._image_loader
            return
        self._feature_loader.batch_sampler.sampler.set_epoch(runner.epoch)
        runner.train_loop.dataloader = self._feature_loader
        self._context.enter_context(features_as_inputs(model, self.cut))

    def after_train_epoch(self, runner) -> None:
        """Images again for validation, checkpoints and the next epoch's decision."""
        self._context.close()
        if self._image_loader is not None:
            runner.train_loop.dataloader = self._image_loader

    def after_train(self, runner) -> None:
        self.after_train_epoch(runner)
