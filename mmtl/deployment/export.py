"""Export a classifier from ``init_model`` to a folder: model file + ``deploy.json``."""

import json
import os
import os.path as osp
import platform
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from .errors import ExportError, checked_tracer_warnings, locate_failure, module_call_stack
from .exporters import DEFAULT_OPSET, build_exporter
from .meta import build_deploy_meta
from .onnx_inferencer import DEPLOY_META_FILE
from .rewrites import export_rewrites

#: Parity of exported and eager model on a batch of another size than the traced one, per
#: output: ``max|exported - eager| <= PARITY_ATOL + PARITY_RTOL * max|eager|`` (float32
#: rounding noise grows with the output's scale).
PARITY_ATOL = 1e-4
PARITY_RTOL = 1e-4
PARITY_BATCH = 3
INPUT_DTYPES = ('float32', 'uint8')


class ExportableClassifier(nn.Module):
    """An mmpretrain classifier as a plain ``tensor -> tensor`` module: the head's logits
    (``mode='tensor'``), optionally the softmax scores, optionally with the normalisation
    folded in so that the graph takes raw 0-255 pixels.

    Args:
        classifier (nn.Module): An mmpretrain ``ImageClassifier`` (or any module whose
            ``forward(inputs, mode='tensor')`` returns logits).
        mean (Sequence[float], optional): Per-channel mean to subtract inside the graph
            (0-255 scale). None: the input is already normalised.
        std (Sequence[float], optional): Per-channel std to divide by inside the graph.
        with_scores (bool): Also output softmax scores. Defaults to False.
    """

    def __init__(
        self,
        classifier: nn.Module,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        with_scores: bool = False,
    ) -> None:
        super().__init__()
        self.classifier = classifier
        self.fold_normalization = mean is not None
        if self.fold_normalization:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.with_scores = with_scores

    @property
    def output_names(self) -> Tuple[str, ...]:
        return ('logits', 'scores') if self.with_scores else ('logits',)

    def forward(self, inputs: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Classify a batch.

        Args:
            inputs (torch.Tensor): ``N x C x H x W`` images: normalised float32, or 0-255
                pixels (uint8 or float) when the normalisation is folded in.

        Returns:
            torch.Tensor | tuple: Logits, and softmax scores when ``with_scores``.
        """
        if self.fold_normalization:
            inputs = (inputs.float() - self.mean) / self.std
        logits = self.classifier(inputs, mode='tensor')
        if isinstance(logits, (tuple, list)):
            logits = logits[-1]
        if self.with_scores:
            return logits, torch.softmax(logits, dim=1)
        return logits


def random_batch(batch: int, size, dtype: str, raw_pixels: bool, seed: int = 0) -> torch.Tensor:
    """A reproducible random input batch ``batch x 3 x H x W`` (``size`` is ``(H, W)``) of
    ``dtype``: 0-255 pixels when ``raw_pixels`` (normalisation folded in), else normalised."""
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, 3, *size)
    if raw_pixels:
        return torch.randint(0, 256, shape, generator=generator).to(getattr(torch, dtype))
    return torch.randn(shape, generator=generator)


def measure_parity(module: nn.Module, run_exported, example: torch.Tensor) -> dict:
    """Compare the exported model with the eager one on ``example``.

    Args:
        module (nn.Module): The eager module that was exported.
        run_exported (callable): The exported model (see :meth:`Exporter.load`).
        example (torch.Tensor): Input batch.

    Returns:
        dict: ``max_abs_diff`` and ``max_abs_value`` (of the eager output) per output,
        ``same_top1``, ``within_tolerance`` and the tolerances.
    """
    with torch.no_grad():
        eager = module(example)
    eager = eager if isinstance(eager, tuple) else (eager,)
    exported = run_exported(example.numpy())
    report = dict(
        atol=PARITY_ATOL, rtol=PARITY_RTOL, batch=len(example), max_abs_diff={}, max_abs_value={}
    )
    within = True
    for name, reference in zip(module.output_names, eager):
        reference = reference.numpy()
        report['max_abs_diff'][name] = float(np.abs(exported[name] - reference).max())
        report['max_abs_value'][name] = float(np.abs(reference).max())
        bound = PARITY_ATOL + PARITY_RTOL * report['max_abs_value'][name]
        within &= report['max_abs_diff'][name] <= bound
    report['same_top1'] = bool((exported['logits'].argmax(1) == eager[0].numpy().argmax(1)).all())
    report['within_tolerance'] = within
    return report


def export_module(
    module: ExportableClassifier,
    example: torch.Tensor,
    path: str,
    export_format: str,
    opset: Optional[int] = None,
) -> List[str]:
    """Export a module, turning any failure into an :class:`ExportError` naming the layer.

    Tracer warnings are errors (see :func:`~mmtl.deployment.errors.checked_tracer_warnings`).

    Args:
        module (ExportableClassifier): The module to export.
        example (torch.Tensor): Example input batch.
        path (str): Output file.
        export_format (str): A key of :data:`mmtl.deployment.EXPORTERS`.
        opset (int, optional): ONNX opset.

    Returns:
        list[str]: ``file:line`` of the code whose size-derived numbers the export fixed,
        sorted, without repeats.
    """
    exporter = build_exporter(export_format)
    baked: List[str] = []
    running: List[str] = []
    try:
        with (
            torch.no_grad(),
            export_rewrites(),
            checked_tracer_warnings(baked),
            module_call_stack(module) as running,
        ):
            exporter.export(module, example, path, module.output_names, opset)
    except Exception as error:
        raise locate_failure(module, example, error, running, export_format) from error
    return sorted({site.split('site-packages' + os.sep)[-1] for site in baked})


def export_classifier(
    model: nn.Module,
    out_dir: str,
    export_format: str = 'onnx',
    opset: Optional[int] = None,
    input_size: Optional[int] = None,
    fold_preprocess: bool = False,
    input_dtype: Optional[str] = None,
    with_scores: bool = False,
) -> dict:
    """Export a classifier and write ``deploy.json`` beside it.

    Args:
        model (nn.Module): A model from :func:`mmtl.apis.init_model` (``_config`` and
            ``_dataset_meta`` set).
        out_dir (str): Output folder (created).
        export_format (str): A key of :data:`mmtl.deployment.EXPORTERS`. Defaults to 'onnx'.
        opset (int, optional): ONNX opset. Defaults to :data:`DEFAULT_OPSET` for ONNX.
        input_size (int, optional): Square input side; defaults to the test pipeline's.
        fold_preprocess (bool): Put the mean/std normalisation in the graph, so it takes
            0-255 pixels in the recorded channel order. Defaults to False.
        input_dtype (str, optional): ``float32`` or ``uint8`` (only with ``fold_preprocess``).
            Defaults to ``uint8`` when folding, else ``float32``.
        with_scores (bool): Add softmax scores as a second output. Defaults to False.

    Returns:
        dict: The contents of ``deploy.json``.

    Raises:
        ExportError: The format cannot express a layer of the model (the error names it),
            or the exported model disagrees with the eager one beyond the tolerance.
    """
    exporter = build_exporter(export_format)
    input_dtype = input_dtype or ('uint8' if fold_preprocess else 'float32')
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(f'input_dtype must be one of {INPUT_DTYPES}, got {input_dtype!r}')
    if input_dtype != 'float32' and not fold_preprocess:
        raise ValueError(f'input_dtype={input_dtype!r} needs fold_preprocess (raw pixels)')
    meta = build_deploy_meta(model, input_size)
    fold = fold_preprocess and meta['mean'] is not None
    module = ExportableClassifier(
        model,
        mean=meta['mean'] if fold else None,
        std=meta['std'] if fold else None,
        with_scores=with_scores,
    ).eval()

    os.makedirs(out_dir, exist_ok=True)
    model_file = f'model{exporter.suffix}'
    example = random_batch(2, meta['input_size'], input_dtype, fold_preprocess)
    fixed_by = export_module(module, example, osp.join(out_dir, model_file), export_format, opset)

    check_batch = random_batch(PARITY_BATCH, meta['input_size'], input_dtype, fold_preprocess, 1)
    parity = measure_parity(module, exporter.load(osp.join(out_dir, model_file)), check_batch)
    deploy_meta = dict(
        format=export_format,
        model_file=model_file,
        opset=(opset or DEFAULT_OPSET) if export_format == 'onnx' else None,
        input=dict(
            name='input',
            shape=['batch', 3, *meta['input_size']],
            dtype=input_dtype,
            layout='NCHW',
            channel_order=meta['channel_order'],
            normalize_in_graph=fold,
            # Code that computed padding or grids from the input size: only this size works.
            size_fixed_by=fixed_by,
        ),
        outputs=list(module.output_names),
        **meta,
        parity=parity,
        versions=_versions(export_format),
    )
    with open(osp.join(out_dir, DEPLOY_META_FILE), 'w', encoding='utf-8') as f:
        json.dump(deploy_meta, f, indent=2)
    if not parity['within_tolerance']:
        raise ExportError(
            export_format,
            f'the exported model differs from the eager model beyond atol={PARITY_ATOL}, '
            f'rtol={PARITY_RTOL}: max abs diff {parity["max_abs_diff"]} (written to '
            f'{out_dir} for inspection)',
        )
    return deploy_meta


def _versions(export_format: str) -> dict:
    versions = dict(python=platform.python_version(), torch=torch.__version__)
    if export_format == 'onnx':
        import onnx
        import onnxruntime

        versions.update(onnx=onnx.__version__, onnxruntime=onnxruntime.__version__)
    return versions
