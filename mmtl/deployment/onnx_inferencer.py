"""Classify images with an exported ONNX model: onnxruntime, numpy and OpenCV only.

This module imports nothing from mmtl, mmengine, mmpretrain or torch, so that a deployment
box needs only ``numpy``, ``opencv-python(-headless)`` and ``onnxruntime``. It can be used
inside mmtl (``from mmtl.deployment.onnx_inferencer import OnnxClassifier``), or copied on its
own next to an exported model folder (``model.onnx`` + ``deploy.json``, written by
``tools/deployment/export.py``) and loaded from there.

The preprocessing reproduces mmtl's test pipeline step by step (the same OpenCV calls that
mmcv makes), as described by the ``preprocess`` list of ``deploy.json``.
"""

import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

import cv2
import numpy as np

#: Name of the JSON file written beside an exported model.
DEPLOY_META_FILE = 'deploy.json'

#: Image file extensions read when a folder is given.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')

#: OpenCV interpolation codes by the names mmcv uses.
CV2_INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}

ImageInput = Union[str, np.ndarray]
PreprocessStep = Callable[[np.ndarray, dict], np.ndarray]

#: Preprocessing steps of ``deploy.json`` by ``type``: each maps an ``HxWxC`` image and the
#: step's parameters to a new image.
PREPROCESS_STEPS: Dict[str, PreprocessStep] = {}


def register_step(name: str) -> Callable[[PreprocessStep], PreprocessStep]:
    """Decorator adding a preprocessing step to :data:`PREPROCESS_STEPS`.

    Args:
        name (str): The step's ``type`` in ``deploy.json``.

    Returns:
        callable: The decorator.
    """

    def add(step: PreprocessStep) -> PreprocessStep:
        PREPROCESS_STEPS[name] = step
        return step

    return add


def _interpolation(params: dict) -> int:
    name = params.get('interpolation', 'bilinear')
    if name not in CV2_INTERPOLATIONS:
        raise ValueError(f'unknown interpolation {name!r}; known: {sorted(CV2_INTERPOLATIONS)}')
    return CV2_INTERPOLATIONS[name]


@register_step('resize')
def resize(img: np.ndarray, params: dict) -> np.ndarray:
    """Resize to a fixed ``size = [width, height]`` (mmcv ``Resize``, keep_ratio=False)."""
    width, height = params['size']
    return cv2.resize(img, (int(width), int(height)), interpolation=_interpolation(params))


@register_step('resize_edge')
def resize_edge(img: np.ndarray, params: dict) -> np.ndarray:
    """Resize so that one edge has ``size`` pixels, keeping the ratio (mmpretrain ``ResizeEdge``).

    ``edge`` is ``short``, ``long``, ``width`` or ``height``; the other side is truncated to an
    integer exactly as mmpretrain does.
    """
    height, width = img.shape[:2]
    size, edge = int(params['size']), params.get('edge', 'short')
    set_width = (
        (edge == 'short' and width < height) or (edge == 'long' and width > height)
    ) or edge == 'width'
    if set_width:
        new_size = (size, int(size * height / width))
    else:
        new_size = (int(size * width / height), size)
    return cv2.resize(img, new_size, interpolation=_interpolation(params))


@register_step('center_crop')
def center_crop(img: np.ndarray, params: dict) -> np.ndarray:
    """Crop ``size = [width, height]`` from the centre (mmcv ``CenterCrop``, no padding)."""
    crop_width, crop_height = (int(v) for v in params['size'])
    height, width = img.shape[:2]
    crop_height, crop_width = min(crop_height, height), min(crop_width, width)
    top = max(0, int(round((height - crop_height) / 2.0)))
    left = max(0, int(round((width - crop_width) / 2.0)))
    return img[top : top + crop_height, left : left + crop_width]


def load_image(image: ImageInput) -> np.ndarray:
    """Read an image as ``HxWx3`` BGR uint8, as mmcv's ``imread`` does (EXIF rotation applied).

    Args:
        image (str | np.ndarray): A file path, or an already loaded BGR array (returned as is).

    Returns:
        np.ndarray: The image.
    """
    if isinstance(image, np.ndarray):
        return image
    data = np.fromfile(image, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ValueError(f'cannot decode image file {image}')
    return img


def expand_inputs(inputs: Union[ImageInput, Sequence[ImageInput]]) -> List[ImageInput]:
    """A path, a folder (its images, recursively, sorted), an array or a list of them, flattened.

    Args:
        inputs: What to classify.

    Returns:
        list: File paths and arrays, in order.
    """
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    expanded: List[ImageInput] = []
    for item in items:
        if isinstance(item, np.ndarray) or osp.isfile(item):
            expanded.append(item)
        elif osp.isdir(item):
            found = []
            for folder, _, files in os.walk(item):
                found += [
                    osp.join(folder, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)
                ]
            expanded.extend(sorted(found))
        else:
            raise FileNotFoundError(f'image input not found: {item}')
    return expanded


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably in float64 and returned as float32."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def preprocess_image(image: ImageInput, meta: dict) -> np.ndarray:
    """Turn one image into a model input as described by ``deploy.json``.

    Args:
        image (str | np.ndarray): A file path or a BGR ``HxWx3`` uint8 array.
        meta (dict): The contents of ``deploy.json``.

    Returns:
        np.ndarray: ``CxHxW`` in the model's channel order: normalised float32, or raw pixels
        of the input dtype when the normalisation is folded into the graph.
    """
    img = load_image(image)
    for step in meta['preprocess']:
        if step['type'] not in PREPROCESS_STEPS:
            raise ValueError(
                f'deploy.json: unknown preprocess step {step["type"]!r}; '
                f'known: {sorted(PREPROCESS_STEPS)}'
            )
        img = PREPROCESS_STEPS[step['type']](img, step)
    model_input = meta['input']
    if model_input['channel_order'] == 'RGB':
        img = img[..., ::-1]
    chw = np.ascontiguousarray(img.transpose(2, 0, 1))
    if model_input['normalize_in_graph'] or meta.get('mean') is None:
        return chw.astype(model_input['dtype'])
    mean = np.asarray(meta['mean'], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(meta['std'], dtype=np.float32).reshape(-1, 1, 1)
    return (chw.astype(np.float32) - mean) / std


class OnnxClassifier:
    """An exported classifier run by onnxruntime, with the preprocessing of ``deploy.json``.

    Args:
        model_dir (str): Folder holding ``deploy.json`` and the ONNX file it names.
        providers (Sequence[str], optional): onnxruntime execution providers. Defaults to
            ``['CPUExecutionProvider']``.
        num_threads (int, optional): Intra-op threads of onnxruntime. Defaults to its choice.
    """

    def __init__(
        self,
        model_dir: str,
        providers: Optional[Sequence[str]] = None,
        num_threads: Optional[int] = None,
    ) -> None:
        import onnxruntime as ort

        self.meta = read_deploy_meta(model_dir)
        if self.meta.get('format') != 'onnx':
            raise ValueError(
                f'{osp.join(model_dir, DEPLOY_META_FILE)}: format is '
                f'{self.meta.get("format")!r}, OnnxClassifier needs an "onnx" export'
            )
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(
            osp.join(model_dir, self.meta['model_file']),
            sess_options=options,
            providers=list(providers or ['CPUExecutionProvider']),
        )
        self.input_name = self.session.get_inputs()[0].name
        self.classes = self.meta.get('classes')

    def preprocess(self, image: ImageInput) -> np.ndarray:
        """Turn one image into the model's ``CxHxW`` input (see :func:`preprocess_image`)."""
        return preprocess_image(image, self.meta)

    def forward(self, batch: np.ndarray) -> Dict[str, np.ndarray]:
        """Run the model on a preprocessed ``NxCxHxW`` batch.

        Returns:
            dict: ``logits`` and ``scores`` (softmax), each ``N x num_classes`` float32.
        """
        names = [out.name for out in self.session.get_outputs()]
        outputs = dict(zip(names, self.session.run(None, {self.input_name: batch})))
        if 'scores' not in outputs:
            outputs['scores'] = softmax(outputs['logits'])
        return outputs

    def __call__(
        self, inputs: Union[ImageInput, Sequence[ImageInput]], batch_size: int = 32
    ) -> Union[dict, List[dict]]:
        """Classify images; the same result format as ``mmtl.apis.inference_model``.

        Args:
            inputs: A path, a folder, a BGR array, or a list of them.
            batch_size (int): Images per run. Defaults to 32.

        Returns:
            dict | list[dict]: One dict for a single file or array, else one per image, with
            ``pred_label``, ``pred_score``, ``pred_class`` (when class names are known),
            ``pred_scores`` and ``img_path`` (for files).
        """
        single = isinstance(inputs, np.ndarray) or (isinstance(inputs, str) and osp.isfile(inputs))
        images = expand_inputs(inputs)
        if not images:
            raise ValueError(f'no images found in {inputs!r}')
        results = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = np.stack([self.preprocess(image) for image in chunk])
            scores = self.forward(batch)['scores']
            for image, row in zip(chunk, scores):
                results.append(self._result(image, row))
        return results[0] if single else results

    def _result(self, image: ImageInput, scores: np.ndarray) -> dict:
        label = int(np.argmax(scores))
        result = {'pred_scores': scores, 'pred_label': label, 'pred_score': float(scores[label])}
        if self.classes is not None:
            result['pred_class'] = self.classes[label]
        if isinstance(image, str):
            result['img_path'] = image
        return result


def read_deploy_meta(model_dir: str) -> dict:
    """Read and check ``deploy.json`` of an exported model folder.

    Args:
        model_dir (str): The folder.

    Returns:
        dict: The metadata.
    """
    path = osp.join(model_dir, DEPLOY_META_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: is {model_dir} an exported model folder?')
    with open(path, encoding='utf-8') as f:
        meta = json.load(f)
    missing = [key for key in ('format', 'model_file', 'input', 'preprocess') if key not in meta]
    if missing:
        raise KeyError(f'{path} lacks the keys {missing}')
    return meta
