"""What a deployed model needs to know besides its weights: ``deploy.json``.

The test pipeline of the config is translated into plain preprocessing steps (resize, crop)
that :mod:`mmtl.deployment.onnx_inferencer` replays with OpenCV, and the data preprocessor
gives the mean, std and channel order.
"""

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from mmtl.config.access import find_test_pipeline, is_image_loader, transform_name

#: Transforms that only pack data: no step to replay. Nor has the loader: its settings go to
#: ``deploy.json``'s ``decode`` entry (see :func:`pipeline_decode`).
PACK_TRANSFORMS = ('PackInputs', 'PackClsInputs')


def _pair(value) -> List[int]:
    """``int`` or ``(width, height)`` -> ``[width, height]``."""
    return [value, value] if isinstance(value, int) else [int(v) for v in value]


def _check_cv2_backend(transform: dict) -> None:
    backend = transform.get('backend', 'cv2')
    if backend != 'cv2':
        raise ValueError(
            f'test pipeline {transform["type"]}: backend={backend!r} cannot be exported; '
            "only 'cv2' resizing is replayed by the ONNX inferencer"
        )


def _convert_resize(transform: dict) -> dict:
    _check_cv2_backend(transform)
    if transform.get('keep_ratio') or transform.get('scale') is None:
        raise ValueError(
            f'test pipeline Resize: only a fixed scale with keep_ratio=False is supported '
            f'for export, got {transform}'
        )
    size = _pair(transform['scale'])
    return dict(type='resize', size=size, interpolation=transform.get('interpolation', 'bilinear'))


def _convert_resize_edge(transform: dict) -> dict:
    _check_cv2_backend(transform)
    return dict(
        type='resize_edge',
        size=int(transform['scale']),
        edge=transform.get('edge', 'short'),
        interpolation=transform.get('interpolation', 'bilinear'),
    )


def _convert_center_crop(transform: dict) -> dict:
    if transform.get('auto_pad'):
        raise ValueError('test pipeline CenterCrop: auto_pad=True cannot be exported')
    return dict(type='center_crop', size=_pair(transform['crop_size']))


#: Converters from a test-pipeline transform config to a ``deploy.json`` step, by the
#: transform's ``type``.
STEP_CONVERTERS: Dict[str, Callable[[dict], dict]] = {
    'Resize': _convert_resize,
    'ResizeEdge': _convert_resize_edge,
    'CenterCrop': _convert_center_crop,
}


def pipeline_to_steps(pipeline: Sequence[dict]) -> List[dict]:
    """Translate a test pipeline (transform configs) into ``deploy.json`` steps."""
    steps = []
    for transform in pipeline:
        name = transform_name(transform)
        if name in PACK_TRANSFORMS or is_image_loader(transform):
            continue
        if name not in STEP_CONVERTERS:
            raise ValueError(
                f'test pipeline transform {name!r} has no deployment equivalent; '
                f'exportable transforms: {sorted(STEP_CONVERTERS)}'
            )
        steps.append(STEP_CONVERTERS[name](dict(transform)))
    return steps


def pipeline_decode(pipeline: Sequence[dict]) -> dict:
    """How the test pipeline's loader decodes files: ``min_size`` (short edge of a
    reduced-scale JPEG decode, or None) and ``background`` (RGB under transparent pixels)."""
    for transform in pipeline:
        if is_image_loader(transform):
            background = transform.get('background', (255, 255, 255))
            return dict(min_size=transform.get('min_size'), background=list(background))
    return dict(min_size=None, background=[255, 255, 255])


def steps_output_size(steps: Sequence[dict]) -> Optional[Tuple[int, int]]:
    """The fixed ``(height, width)`` the steps produce, or None if it depends on the image."""
    size = None
    for step in steps:
        if step['type'] in ('resize', 'center_crop'):
            width, height = step['size']
            size = (height, width)
        else:
            size = None
    return size


def normalization(model: torch.nn.Module) -> dict:
    """Mean, std and the channel order the network expects, from the model's data preprocessor.

    Args:
        model (torch.nn.Module): An mmpretrain classifier.

    Returns:
        dict: ``mean`` and ``std`` (lists, 0-255 scale; None without normalisation) and
        ``channel_order`` (``'RGB'`` if the preprocessor flips cv2's BGR, else ``'BGR'``).
    """
    preprocessor = model.data_preprocessor
    enabled = getattr(preprocessor, '_enable_normalize', False)
    flips = bool(getattr(preprocessor, 'to_rgb', False))
    return dict(
        mean=preprocessor.mean.flatten().tolist() if enabled else None,
        std=preprocessor.std.flatten().tolist() if enabled else None,
        channel_order='RGB' if flips else 'BGR',
    )


def build_deploy_meta(model: torch.nn.Module, input_size: Optional[int] = None) -> dict:
    """The format-independent part of ``deploy.json`` for a model from ``init_model``.

    Args:
        model (torch.nn.Module): Model with ``_config`` and ``_dataset_meta`` set.
        input_size (int, optional): Side of the square network input. Defaults to the size
            the test pipeline produces; when given and different, a final resize is added.

    Returns:
        dict: ``decode`` (see :func:`pipeline_decode`), ``preprocess``, ``input_size``
        ([height, width]), ``mean``, ``std``, ``channel_order`` and ``classes``.
    """
    pipeline = find_test_pipeline(model._config)
    steps = pipeline_to_steps(pipeline)
    size = steps_output_size(steps)
    if input_size is not None and size != (input_size, input_size):
        steps.append(dict(type='resize', size=[input_size, input_size], interpolation='bilinear'))
        size = (input_size, input_size)
    if size is None:
        raise ValueError(
            'the test pipeline does not end in a fixed size (add a CenterCrop or Resize, '
            'or pass --input-size)'
        )
    classes = model._dataset_meta.get('classes')
    return dict(
        decode=pipeline_decode(pipeline),
        preprocess=steps,
        input_size=list(size),
        classes=list(classes) if classes is not None else None,
        **normalization(model),
    )
