"""Loading transforms: any colour mode to BGR, EXIF orientation, reduced-scale JPEG decoding."""

from typing import Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.image.geometric import cv2_interp_codes
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import MMLogger
from mmpretrain.datasets.transforms import RandomResizedCrop

from mmtl.registry import TRANSFORMS

from .image_io import Color, ImageDecodeError, ImageHeader, open_image_file, scaled_min_size

#: Key of a decoded-image cache slot in ``results`` (set by ``FolderDataset(cache=...)``):
#: ``(cache, index)`` of an :class:`~mmtl.datasets.image_cache.ImageCache`.
CACHE_SLOT_KEY = 'image_cache_slot'


def read_header(img_path: str, backend_args: Optional[dict] = None) -> ImageHeader:
    """Read an image file (any mmengine file backend) and open its header.

    Raises:
        ImageDecodeError: The file cannot be read or is not an image (names the file).
    """
    if backend_args is None and '://' not in img_path:
        return open_image_file(img_path)  # local file: skip the backend lookup
    try:
        data = fileio.get(img_path, backend_args=backend_args)
    except Exception as error:
        raise ImageDecodeError(f'cannot read image {img_path}: {error}', str(error)) from error
    return ImageHeader(data, name=img_path)


class _LoadBase(BaseTransform):
    """Shared options of mmtl's loading transforms.

    Args:
        background (tuple[int]): RGB colour that transparent pixels (RGBA, LA, P with
            transparency) are composited onto. Defaults to white ``(255, 255, 255)``.
        ignore_errors (bool): On an unreadable file, log a warning naming it and return None
            (an mmengine dataset in training then draws another sample) instead of raising.
            Defaults to False.
        fast_decode (bool): Decode JPEGs with libjpeg-turbo's fast IDCT and chroma
            upsampling (about 1 grey level of difference): fine for training augmentation.
            Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(
        self,
        background: Sequence[int] = (255, 255, 255),
        ignore_errors: bool = False,
        fast_decode: bool = False,
        backend_args: Optional[dict] = None,
    ) -> None:
        if len(background) != 3 or not all(0 <= int(v) <= 255 for v in background):
            raise ValueError(f'background must be an RGB triple of 0..255, got {background!r}')
        self.background: Color = tuple(int(v) for v in background)
        self.ignore_errors = ignore_errors
        self.fast_decode = fast_decode
        self.backend_args = backend_args

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` and set ``img``, ``img_shape``, ``ori_shape``; with a
        cache slot (:data:`CACHE_SLOT_KEY`), from the cached full-size decode
        (:meth:`from_full`)."""
        path = results['img_path']
        slot = results.pop(CACHE_SLOT_KEY, None)
        try:
            if slot is None:
                header = read_header(path, self.backend_args)
                img, upright = self.decode(header, results), header.upright_size
            else:
                cache, index = slot
                full = cache.get(index)
                if full is None:
                    header = read_header(path, self.backend_args)
                    full = header.decode(None, self.background, self.fast_decode)
                    cache.put(index, full)
                img, upright = self.from_full(full, results), (full.shape[1], full.shape[0])
        except Exception as error:
            if not self.ignore_errors:
                raise
            MMLogger.get_current_instance().warning(f'skipped unreadable image: {error}')
            return None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = upright[::-1]
        return results

    @property
    def decode_key(self) -> str:
        """The settings a cached decode depends on (part of a disk cache's key)."""
        return f'background={self.background},fast_decode={self.fast_decode}'

    def from_full(self, full: np.ndarray, results: dict) -> np.ndarray:
        """The output made from the full-size decode ``full`` (read-only; a cached one)."""
        raise NotImplementedError

    def decode(self, header: ImageHeader, results: dict) -> np.ndarray:
        """Decode the image of ``header``; subclasses decide the scale."""
        raise NotImplementedError


@TRANSFORMS.register_module()
class LoadImage(_LoadBase):
    """mmcv's ``LoadImageFromFile`` for any colour mode, EXIF orientation applied; with
    ``min_size``, a JPEG is decoded at the smallest 1/2, 1/4 or 1/8 scale whose short edge
    keeps ``min_size``. ``ori_shape`` is the upright size of the file.

    Args:
        min_size (int, optional): Short-edge pixels the next transforms need. Defaults to
            None: decode at full size.
        background, ignore_errors, fast_decode, backend_args: See :class:`_LoadBase`.
    """

    def __init__(self, min_size: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if min_size is not None and min_size <= 0:
            raise ValueError(f'min_size must be a positive number of pixels, got {min_size}')
        self.min_size = min_size

    def decode(self, header: ImageHeader, results: dict) -> np.ndarray:
        """Decode at full size, or at the smallest scale keeping ``min_size`` pixels."""
        target = None
        if self.min_size is not None:
            target = scaled_min_size(header.upright_size, self.min_size)
        return header.decode(target, self.background, self.fast_decode)

    def from_full(self, full: np.ndarray, results: dict) -> np.ndarray:
        """A writable copy of the full-size image (``min_size`` only saves decoding work)."""
        return full.copy()

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(min_size={self.min_size}, '
            f'background={self.background}, ignore_errors={self.ignore_errors})'
        )


@TRANSFORMS.register_module()
class LoadAndRandomResizedCrop(_LoadBase):
    """``LoadImage`` + mmpretrain's ``RandomResizedCrop`` in one step: the box is drawn as
    ``RandomResizedCrop`` draws it from the header's size, and the JPEG decoded at the
    smallest scale at which the box still covers the output size.

    Args:
        scale (int | tuple[int, int]): Output size, ``(h, w)`` or one int for a square.
        crop_ratio_range (tuple[float, float]): Crop area as a fraction of the image area.
            Defaults to ``(0.08, 1.0)``.
        aspect_ratio_range (tuple[float, float]): Crop aspect ratio (w / h) range. Defaults
            to ``(3 / 4, 4 / 3)``.
        max_attempts (int): Draws before falling back to a central crop. Defaults to 10.
        interpolation (str): Resize interpolation (mmcv name). Defaults to ``'bilinear'``.
        resize_backend (str): ``'cv2'`` or ``'pillow'``. Defaults to ``'cv2'``.
        flip_prob (float): Probability of a horizontal flip of the result, as
            ``RandomFlip(prob=flip_prob, direction='horizontal')`` next would do (same
            ``flip`` / ``flip_direction`` keys). Defaults to 0.
        background, ignore_errors, fast_decode, backend_args: See :class:`_LoadBase`.
    """

    def __init__(
        self,
        scale: Union[int, Tuple[int, int]],
        crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
        aspect_ratio_range: Tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        max_attempts: int = 10,
        interpolation: str = 'bilinear',
        resize_backend: str = 'cv2',
        flip_prob: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f'flip_prob must be in [0, 1], got {flip_prob}')
        self.flip_prob = flip_prob
        # Reuse mmpretrain's crop sampler (argument checks and the random draws).
        self.cropper = RandomResizedCrop(
            scale,
            crop_ratio_range=crop_ratio_range,
            aspect_ratio_range=aspect_ratio_range,
            max_attempts=max_attempts,
            interpolation=interpolation,
            backend=resize_backend,
        )
        self.out_h, self.out_w = self.cropper.scale

    def transform(self, results: dict) -> Optional[dict]:
        """Load, crop and resize ``results['img_path']``; flip with ``flip_prob``."""
        results = super().transform(results)
        if results is None or self.flip_prob == 0.0:
            return results
        flip = bool(np.random.rand() < self.flip_prob)
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if flip:
            # A contiguous copy (a SIMD row reversal) rather than a negative-stride view, which
            # PackInputs would transpose element by element.
            results['img'] = cv2.flip(results['img'], 1)
        return results

    def crop_box(self, upright_size: Tuple[int, int]) -> Tuple[int, int, int, int]:
        """Draw a crop ``(top, left, height, width)`` in the upright full-size image."""
        width, height = upright_size  # the draw reads only the image's shape
        return self.cropper.rand_crop_params(np.broadcast_to(np.uint8(0), (height, width, 3)))

    def decode(self, header: ImageHeader, results: dict) -> np.ndarray:
        """Decode at the smallest scale that keeps the crop >= the output, crop, resize."""
        width, height = header.upright_size
        top, left, crop_h, crop_w = self.crop_box((width, height))
        # At scale s the crop is (crop_w * s, crop_h * s): it must stay >= (out_w, out_h).
        needed = (width * self.out_w / crop_w, height * self.out_h / crop_h)
        img = header.decode(needed, self.background, self.fast_decode)
        scale = img.shape[1] / width  # the decoder's exact 1 / 2^k
        return self.resized_crop(img, (left * scale, top * scale, crop_w * scale, crop_h * scale))

    def from_full(self, full: np.ndarray, results: dict) -> np.ndarray:
        """The same crop draw on the full-size image, cropped and resized exactly as stock
        ``RandomResizedCrop`` does (so a cached epoch equals the unfused stock pipeline's)."""
        top, left, crop_h, crop_w = self.crop_box((full.shape[1], full.shape[0]))
        return self._resize_whole_pixels(full, (left, top, crop_w, crop_h))

    def resized_crop(self, img: np.ndarray, box: Tuple[float, float, float, float]) -> np.ndarray:
        """Resize the sub-pixel ``box`` ``(x, y, w, h)`` of ``img`` to the output size (an
        affine warp; whole pixels and mmcv for what a warp cannot do: ``area``, pillow)."""
        x, y, w, h = box
        shrink = int(min(w / self.out_w, h / self.out_h))
        if shrink >= 2:  # more than 2x left to shrink: area-average first (no aliasing)
            img = cv2.resize(
                img,
                (img.shape[1] // shrink, img.shape[0] // shrink),
                interpolation=cv2.INTER_AREA,
            )
            x, y, w, h = x / shrink, y / shrink, w / shrink, h / shrink
        flag = cv2_interp_codes.get(self.cropper.interpolation)
        whole_pixels = all(float(v).is_integer() for v in (x, y, w, h))
        if whole_pixels or self.cropper.backend != 'cv2' or flag in (None, cv2.INTER_AREA):
            # A whole-pixel box (full-size decode) needs no warp; resize is faster.
            return self._resize_whole_pixels(img, (x, y, w, h))
        step_x, step_y = w / self.out_w, h / self.out_h
        # Output pixel centre (i + 0.5) maps to x + (i + 0.5) * step in pixel-edge units.
        matrix = np.array(
            [[step_x, 0.0, x + 0.5 * step_x - 0.5], [0.0, step_y, y + 0.5 * step_y - 0.5]]
        )
        return cv2.warpAffine(
            img,
            matrix,
            (self.out_w, self.out_h),
            flags=flag | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )

    def _resize_whole_pixels(self, img: np.ndarray, box: Tuple[float, ...]) -> np.ndarray:
        """Crop ``box`` rounded to whole pixels and resize it as ``RandomResizedCrop`` does."""
        x, y, w, h = box
        x0, y0 = int(round(x)), int(round(y))
        x1 = max(x0 + 1, min(img.shape[1], int(round(x + w))))
        y1 = max(y0 + 1, min(img.shape[0], int(round(y + h))))
        return mmcv.imresize(
            img[y0:y1, x0:x1],
            (self.out_w, self.out_h),
            interpolation=self.cropper.interpolation,
            backend=self.cropper.backend,
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}({repr(self.cropper)[len("RandomResizedCrop(") : -1]}, '
            f'flip_prob={self.flip_prob}, background={self.background}, '
            f'ignore_errors={self.ignore_errors})'
        )
