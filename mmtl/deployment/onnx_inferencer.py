"""Classify images with an exported ONNX model: onnxruntime, numpy, Pillow and OpenCV only.

Nothing from mmtl, mmengine or torch is imported: the file runs on a deployment box, copied
beside mmtl's dependency-free files (:data:`MMTL_FILES`), which decode and list the inputs as
mmtl does. The test pipeline is replayed from ``deploy.json``'s ``preprocess`` list with the
OpenCV calls mmcv makes.
"""

import importlib.util
import json
import os.path as osp
import sys
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence, Union

import cv2
import numpy as np

#: Name of the JSON file written beside an exported model.
DEPLOY_META_FILE = 'deploy.json'

#: OpenCV interpolation codes by the names mmcv uses.
CV2_INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}

ImageInput = Union[str, np.ndarray]


def _interpolation(params: dict) -> int:
    return CV2_INTERPOLATIONS[params.get('interpolation', 'bilinear')]


def resize(img: np.ndarray, params: dict) -> np.ndarray:
    """Resize to a fixed ``size = [width, height]`` (mmcv ``Resize``, keep_ratio=False)."""
    width, height = params['size']
    return cv2.resize(img, (int(width), int(height)), interpolation=_interpolation(params))


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


def center_crop(img: np.ndarray, params: dict) -> np.ndarray:
    """Crop ``size = [width, height]`` from the centre (mmcv ``CenterCrop``, no padding)."""
    crop_width, crop_height = (int(v) for v in params['size'])
    height, width = img.shape[:2]
    crop_height, crop_width = min(crop_height, height), min(crop_width, width)
    top = max(0, int(round((height - crop_height) / 2.0)))
    left = max(0, int(round((width - crop_width) / 2.0)))
    return img[top : top + crop_height, left : left + crop_width]


#: Preprocessing steps of ``deploy.json`` by ``type``: each maps an ``HxWxC`` image and the
#: step's parameters to a new image.
PREPROCESS_STEPS: Dict[str, Callable[[np.ndarray, dict], np.ndarray]] = {
    'resize': resize,
    'resize_edge': resize_edge,
    'center_crop': center_crop,
}

#: mmtl's files this module and ``tools/deployment/onnx_infer.py`` load by path: beside this
#: file, else in the source tree.
MMTL_FILES = {
    'image_io.py': 'datasets/transforms/image_io.py',
    'listing.py': 'datasets/listing.py',
    'prediction_rows.py': 'utils/prediction_rows.py',
}


def mmtl_file(filename: str) -> ModuleType:
    """One of :data:`MMTL_FILES`, loaded without importing mmtl (cached).

    Args:
        filename (str): A key of :data:`MMTL_FILES`, e.g. ``'image_io.py'``.

    Returns:
        module: The loaded module.

    Raises:
        ImportError: It is neither beside this file nor in an mmtl source tree around it.
    """
    name = 'mmtl_' + osp.splitext(filename)[0]
    package_name = 'mmtl.' + MMTL_FILES[filename][: -len('.py')].replace('/', '.')
    loaded = sys.modules.get(package_name) or sys.modules.get(name)
    if loaded is not None:
        return loaded
    here = osp.dirname(osp.abspath(__file__))
    for candidate in (filename, osp.join('..', MMTL_FILES[filename])):
        path = osp.normpath(osp.join(here, candidate))
        if osp.isfile(path):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module
    raise ImportError(
        f"mmtl's {filename} was not found beside {__file__}: copy "
        f'mmtl/{MMTL_FILES[filename]} next to this file'
    )


def load_image(image: ImageInput, decode: Optional[dict] = None) -> np.ndarray:
    """Decode an image as ``HxWx3`` BGR uint8, as mmtl's test pipeline loader does.

    Args:
        image (str | np.ndarray): A file path, or a BGR array (see ``image_io.array_to_bgr``).
        decode (dict, optional): ``deploy.json``'s ``decode`` entry (``min_size``,
            ``background``). Defaults to None: full size, white background.

    Returns:
        np.ndarray: The image.

    Raises:
        ValueError: The file cannot be read or decoded (named), or the array is no image.
    """
    decode = decode or {}
    background = tuple(decode.get('background') or (255, 255, 255))
    io_module = mmtl_file('image_io.py')
    if isinstance(image, np.ndarray):
        return io_module.array_to_bgr(image, background)
    try:
        return io_module.decode_image_file(image, decode.get('min_size'), background)
    except io_module.ImageDecodeError as err:
        raise ValueError(str(err)) from err


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
    img = load_image(image, meta.get('decode'))
    for step in meta['preprocess']:
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

        meta_file = osp.join(model_dir, DEPLOY_META_FILE)
        if not osp.isfile(meta_file):
            raise FileNotFoundError(f'{meta_file} not found: is {model_dir} an exported model?')
        with open(meta_file, encoding='utf-8') as f:
            self.meta = json.load(f)
        if self.meta['format'] != 'onnx':
            raise ValueError(
                f'{meta_file}: format is {self.meta["format"]!r}, OnnxClassifier needs an '
                '"onnx" export'
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
        outputs = self.session.get_outputs()[0].shape[-1]
        outputs = outputs if isinstance(outputs, int) else None  # a free dimension has a name
        mmtl_file('prediction_rows.py').check_class_count(self.classes, outputs or 0, meta_file)
        #: From ``deploy.json``, else the graph's output shape (None when that is free).
        self.num_classes = len(self.classes) if self.classes is not None else outputs

    def preprocess(self, image: ImageInput) -> np.ndarray:
        """Turn one image into the model's ``CxHxW`` input (see :func:`preprocess_image`)."""
        return preprocess_image(image, self.meta)

    def forward(self, batch: np.ndarray) -> Dict[str, np.ndarray]:
        """Run the model on a preprocessed ``NxCxHxW`` batch of the exported size.

        Returns:
            dict: ``logits`` and ``scores`` (softmax), each ``N x num_classes`` float32.
        """
        expected = list(self.meta['input']['shape'][1:])
        if list(batch.shape[1:]) != expected:
            raise ValueError(
                f'{self.meta["model_file"]} was exported for N x {" x ".join(map(str, expected))} '
                f'inputs, got {" x ".join(map(str, batch.shape))}: resize the images to the '
                'exported size (preprocess() does)'
            )
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
            dict | list[dict]: One dict for a single file or array, else one per classified
            image (``listing.InferenceResults``), with ``pred_label``, ``pred_score``,
            ``pred_class`` (when class names are known), ``pred_scores`` and ``img_path``
            (for files). Of several inputs, a file that cannot be read or decoded is skipped
            and listed in the result's ``skipped``; a single one raises.

        Raises:
            ValueError: No images; a single file that cannot be decoded, or none of several.
        """

        def score_batch(batch: List[np.ndarray]) -> np.ndarray:
            return self.forward(np.stack(batch))['scores']

        return mmtl_file('listing.py').classify_inputs(
            inputs,
            lambda: (self.preprocess, score_batch, self.classes),
            mmtl_file('prediction_rows.py').safe_text,
            batch_size,
        )
