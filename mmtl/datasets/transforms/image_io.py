"""Decoding image files into the ``H x W x 3`` BGR uint8 arrays that mmpretrain pipelines expect.

Every colour mode Pillow reads is converted, EXIF orientation is applied, JPEGs are decoded
at 1/2, 1/4 or 1/8 scale when fewer pixels are needed, and an image whose header declares
more than :func:`max_image_pixels` pixels is refused before any pixel is decoded. Imports
only numpy, Pillow and (optionally) simplejpeg: the ONNX runner loads it by file path.
"""

import contextlib
import io
import math
import os
import stat
import warnings
from typing import Callable, Dict, Iterator, Optional, Tuple, Union

import numpy as np
from PIL import Image

try:  # The fastest JPEG path; Pillow's draft mode is the fallback.
    import simplejpeg
except ImportError:  # pragma: no cover - depends on the environment
    simplejpeg = None

#: ``(width, height)`` in pixels.
Size = Tuple[int, int]
Color = Tuple[int, int, int]

#: EXIF tag that holds the orientation (1..8).
EXIF_ORIENTATION = 0x0112

#: Orientations whose upright image has width and height swapped.
TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)

#: Reductions used in the DCT domain, largest first. libjpeg-turbo's other factors (3/8,
#: 3/4 ...) run without SIMD and are slower than a full decode of a small image.
SCALE_FACTORS = (8, 4, 2, 1)

#: JPEG colour spaces (simplejpeg's names) the fast decoder handles, and what it decodes
#: them to; others, such as CMYK, go through Pillow.
FAST_JPEG_COLORSPACES = {'YCbCr': 'BGR', 'Gray': 'GRAY'}

#: Environment variable holding the pixel limit (an integer; 0 or ``none`` = no limit).
MAX_PIXELS_ENV = 'MMTL_MAX_IMAGE_PIXELS'

#: Default pixel limit: Pillow's own error threshold (2 x ``Image.MAX_IMAGE_PIXELS``), so a
#: 108-megapixel phone photo passes and a 30000 x 30000 header does not.
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970

#: JPEG markers after which no segment header follows: SOI, EOI, start of scan.
_JPEG_NO_SEGMENT = (0xD8, 0xD9, 0xDA)

#: JPEG markers without a length field (TEM, restart markers).
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])


class ImageDecodeError(OSError):
    """An image file that could not be read or decoded; the message names the file.

    Args:
        message (str): The whole message.
        reason (str, optional): Why, in one line, without the file's name (what a report
            lists beside the name). Defaults to the message's first line.
    """

    def __init__(self, message: str, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.reason = (message if reason is None else reason).strip().split('\n')[0]


class ImageTooLargeError(ImageDecodeError):
    """An image with more pixels than :func:`max_image_pixels` (a decompression bomb?)."""


def _failed(verb: str, name: str, error: Exception) -> ImageDecodeError:
    """``ImageDecodeError('cannot <verb> image <name>: <error>')`` with the error as reason."""
    return ImageDecodeError(f'cannot {verb} image {name}: {error}', str(error))


def max_image_pixels() -> Optional[int]:
    """The pixel limit in force: ``MMTL_MAX_IMAGE_PIXELS`` if set, else the default.

    Returns:
        int | None: The most pixels (width x height) an image may have; None: no limit.

    Raises:
        ValueError: The environment variable is not a number, or is negative.
    """
    value = os.environ.get(MAX_PIXELS_ENV)
    if value is None:
        return DEFAULT_MAX_IMAGE_PIXELS
    text = value.strip().lower()
    if text in ('', 'none', 'off'):
        return None
    if not text.isdigit():
        raise ValueError(
            f'{MAX_PIXELS_ENV}={value!r}: expected a number of pixels (0 or none: no limit)'
        )
    return int(text) or None


def set_max_image_pixels(limit: Optional[int]) -> None:
    """Set the pixel limit (None or 0: no limit) for this process and those it starts."""
    if limit is not None and int(limit) < 0:
        raise ValueError(f'max image pixels cannot be negative, got {limit}')
    os.environ[MAX_PIXELS_ENV] = str(int(limit or 0))


def check_pixel_limit(size: Size, name: str = '<bytes>') -> None:
    """Refuse an image whose ``(width, height)`` exceeds :func:`max_image_pixels`.

    Raises:
        ImageTooLargeError: Too many pixels (the message names the file and the setting).
    """
    limit = max_image_pixels()
    width, height = size
    if limit is not None and width * height > limit:
        reason = (
            f'{width} x {height} = {width * height / 1e6:.0f} M pixels, more than the limit of '
            f'{limit / 1e6:.0f} M (a decompression bomb?); raise the limit with the '
            f'environment variable {MAX_PIXELS_ENV}=N (0: no limit)'
        )
        raise ImageTooLargeError(f'image {name} is {reason}', reason)


@contextlib.contextmanager
def _pillow_bomb_check_off() -> Iterator[None]:
    """Let Pillow open any size: :func:`check_pixel_limit` is the one limit that applies."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


ModeConverter = Callable[[Image.Image, Color], np.ndarray]

#: Pillow colour mode -> function ``(image, background) -> RGB uint8 array``.
MODE_CONVERTERS: Dict[str, ModeConverter] = {}


def register_mode(*modes: str) -> Callable[[ModeConverter], ModeConverter]:
    """A decorator registering in :data:`MODE_CONVERTERS` a function that turns a Pillow
    image of ``modes`` (``'RGB'``, ``'I;16'``) into an RGB uint8 array."""

    def wrap(func: ModeConverter) -> ModeConverter:
        for mode in modes:
            if mode in MODE_CONVERTERS:
                raise KeyError(f'{mode} is already registered in mode converter')
            MODE_CONVERTERS[mode] = func
        return func

    return wrap


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)


def _to_uint8(values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``values * scale`` rounded and clipped to 0..255."""
    return np.clip(np.rint(values.astype(np.float32) * scale), 0, 255).astype(np.uint8)


def _composite(pixels: np.ndarray, background: Color) -> np.ndarray:
    """Composite 4-channel uint8 ``pixels`` onto ``background`` (in the same channel order)."""
    values = pixels.astype(np.float32)
    alpha = values[:, :, 3:4] / 255.0
    return _to_uint8(values[:, :, :3] * alpha + np.asarray(background, np.float32) * (1 - alpha))


@register_mode('RGB', 'YCbCr', 'LAB', 'HSV', 'CMYK', 'RGBX')
def _rgb(img: Image.Image, background: Color) -> np.ndarray:
    return np.asarray(img if img.mode == 'RGB' else img.convert('RGB'))


@register_mode('L', '1')
def _grey(img: Image.Image, background: Color) -> np.ndarray:
    return _grey_to_rgb(np.asarray(img.convert('L')))


@register_mode('I;16', 'I;16B', 'I;16L', 'I;16N', 'I')
def _sixteen_bit(img: Image.Image, background: Color) -> np.ndarray:
    return _grey_to_rgb(_to_uint8(np.asarray(img), 255.0 / 65535.0))


@register_mode('F')
def _float(img: Image.Image, background: Color) -> np.ndarray:
    """Float images are taken to be 8-bit valued: clipped to 0..255."""
    return _grey_to_rgb(_to_uint8(np.asarray(img)))


@register_mode('RGBA', 'LA', 'PA', 'RGBa', 'La')
def _with_alpha(img: Image.Image, background: Color) -> np.ndarray:
    return _composite(np.asarray(img.convert('RGBA')), background)


@register_mode('P')
def _palette(img: Image.Image, background: Color) -> np.ndarray:
    if 'transparency' in img.info:
        return _with_alpha(img.convert('RGBA'), background)
    return np.asarray(img.convert('RGB'))


def pil_to_bgr(img: Image.Image, background: Color = (255, 255, 255)) -> np.ndarray:
    """Convert a Pillow image of any supported mode to a BGR uint8 array.

    Args:
        img (PIL.Image.Image): The image.
        background (tuple[int]): RGB colour under transparent pixels. Defaults to white.

    Returns:
        np.ndarray: ``H x W x 3`` BGR uint8, C-contiguous.

    Raises:
        ValueError: The mode has no converter.
    """
    converter = MODE_CONVERTERS.get(img.mode)
    if converter is None:
        raise ValueError(
            f'unsupported image mode {img.mode!r}; supported: {sorted(MODE_CONVERTERS)}'
        )
    return np.ascontiguousarray(converter(img, background)[:, :, ::-1])


ORIENTATION_OPS: Dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: a.transpose(1, 0, 2)[::-1],
}


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an ``H x W x C`` array stored with EXIF ``orientation`` upright (contiguous)."""
    return np.ascontiguousarray(ORIENTATION_OPS.get(orientation, ORIENTATION_OPS[1])(array))


def exif_orientation(source: Union[Image.Image, bytes]) -> int:
    """The EXIF orientation of an opened (not yet decoded) image, or of an APP1 ``Exif`` block
    (both read by Pillow); 1 when absent or malformed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # Pillow warns about a corrupt block
            if isinstance(source, Image.Image):
                exif = source.getexif()
            else:
                exif = Image.Exif()
                exif.load(source)
            value = exif.get(EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block does not make the pixels unreadable
        return 1
    return value if value in ORIENTATION_OPS else 1


def jpeg_segments(data: bytes) -> Iterator[Tuple[int, bytes]]:
    """``(marker, payload)`` of each segment of a JPEG before its first scan; stops at the
    end of ``data`` (a payload running past it is cut short) or at anything else.

    Yields:
        tuple[int, bytes]: The marker byte (``0xE1`` for APP1) and the segment's payload.
    """
    pos = 2  # after SOI
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, length = data[pos + 1], (data[pos + 2] << 8) | data[pos + 3]
        if marker in _JPEG_NO_SEGMENT or marker in _JPEG_STANDALONE or length < 2:
            return
        yield marker, data[pos + 4 : pos + 2 + length]
        pos += 2 + length


def jpeg_exif_orientation(data: bytes) -> int:
    """The EXIF orientation in a JPEG's APP1 segment, without opening the image.

    Returns:
        int: 1..8; 1 when there is no EXIF block, no orientation tag or a malformed one.
    """
    for marker, payload in jpeg_segments(data):
        if marker == 0xE1 and payload[:6] == b'Exif\x00\x00':
            return exif_orientation(payload)
    return 1


class ImageHeader:
    """What an image file says about itself before any pixel is decoded (JPEGs that
    simplejpeg decodes are read without Pillow; other files are opened by Pillow).

    Args:
        data (bytes): The file's bytes.
        name (str): The file name, for error messages.

    Attributes:
        orientation (int): EXIF orientation (1 = upright).
        size (tuple[int, int]): ``(width, height)`` as stored in the file.
        upright_size (tuple[int, int]): ``(width, height)`` after the orientation is applied.
        fast_colorspace (str | None): ``'BGR'`` or ``'GRAY'`` when simplejpeg decodes the
            file, else None (Pillow does).
    """

    def __init__(self, data: bytes, name: str = '<bytes>') -> None:
        self.data = data
        self.name = name
        if not data:
            raise ImageDecodeError(
                f'cannot decode image {name}: the file is empty', 'the file is empty'
            )
        self.image: Optional[Image.Image] = None  # Pillow's, when simplejpeg does not decode
        self.fast_colorspace = self._fast_jpeg_header()
        if self.fast_colorspace is None:
            with self._decode_errors():
                self.image = Image.open(io.BytesIO(data))
                self.size = self.image.size
                check_pixel_limit(self.size, name)
                if self.image.format == 'PNG':
                    # Pillow reads a PNG's EXIF by decoding the whole file and swallows a
                    # failure there with the EXIF error: decode first, so corrupt data raises.
                    self.image.load()
            self.orientation = exif_orientation(self.image)
        else:
            check_pixel_limit(self.size, name)
        width, height = self.size
        swapped = self.orientation in TRANSPOSING_ORIENTATIONS
        self.upright_size = (height, width) if swapped else (width, height)

    def _fast_jpeg_header(self) -> Optional[str]:
        """Read size and orientation of a JPEG that simplejpeg decodes; None otherwise."""
        if simplejpeg is None or self.data[:2] != b'\xff\xd8':
            return None
        try:
            height, width, colorspace, _ = simplejpeg.decode_jpeg_header(self.data)
        except ValueError:
            return None  # let Pillow try, and word the error if it fails too
        target = FAST_JPEG_COLORSPACES.get(colorspace)
        if target is not None:
            self.size = (width, height)
            self.orientation = jpeg_exif_orientation(self.data)
        return target

    @contextlib.contextmanager
    def _decode_errors(self) -> Iterator[None]:
        """Pillow's own size limit off inside; an error other than ours becomes an
        :class:`ImageDecodeError` naming the file."""
        try:
            with _pillow_bomb_check_off():
                yield
        except ImageDecodeError:
            raise
        except Exception as error:
            raise _failed('decode', self.name, error) from error

    def decode(
        self,
        min_size: Optional[Size] = None,
        background: Color = (255, 255, 255),
        fast: bool = False,
    ) -> np.ndarray:
        """Decode the pixels, upright, as BGR uint8.

        Args:
            min_size (tuple[int, int], optional): ``(width, height)`` of the upright image
                that the caller needs at least; a JPEG is then decoded at the smallest of
                the 1/8 ... 1 scales that still gives it. Defaults to None (full size).
            background (tuple[int]): RGB colour under transparent pixels. Defaults to white.
            fast (bool): For the simplejpeg path, libjpeg-turbo's fast integer IDCT and
                chroma upsampling (pixels differ by about 1 grey level). Defaults to False.

        Returns:
            np.ndarray: ``H x W x 3`` BGR uint8.

        Raises:
            ImageDecodeError: The file cannot be decoded (the message names it).
        """
        stored_min = self._stored_min_size(min_size)
        with self._decode_errors():
            if self.fast_colorspace is not None:
                bgr = self._decode_simplejpeg(stored_min, fast)
            else:
                bgr = self._decode_pillow(stored_min, background)
        return apply_orientation(bgr, self.orientation)

    def _stored_min_size(self, min_size: Optional[Size]) -> Optional[Size]:
        """The size to ask the decoder for: the stored image reduced by the largest factor
        of :data:`SCALE_FACTORS` that keeps ``min_size`` of the upright image."""
        if min_size is None:
            return None
        width, height = min_size
        if self.orientation in TRANSPOSING_ORIENTATIONS:
            width, height = height, width
        stored_w, stored_h = self.size
        for factor in SCALE_FACTORS:
            if stored_w / factor >= width and stored_h / factor >= height:
                return int(math.ceil(stored_w / factor)), int(math.ceil(stored_h / factor))
        return stored_w, stored_h

    def _decode_simplejpeg(self, stored_min: Optional[Size], fast: bool) -> np.ndarray:
        min_width, min_height = stored_min or self.size
        decoded = simplejpeg.decode_jpeg(
            self.data,
            self.fast_colorspace,
            fastdct=fast,
            fastupsample=fast,
            min_height=min_height,
            min_width=min_width,
        )
        if self.fast_colorspace == 'GRAY':
            return _grey_to_rgb(decoded.reshape(decoded.shape[:2]))
        return decoded

    def _decode_pillow(self, stored_min: Optional[Size], background: Color) -> np.ndarray:
        img = self.image
        if stored_min is not None and img.format == 'JPEG':
            # draft() picks the largest 1/2^k reduction whose size stays >= the request.
            img.draft(img.mode if img.mode in ('L', 'CMYK') else 'RGB', stored_min)
        img.load()
        return pil_to_bgr(img, background)


def scaled_min_size(upright_size: Size, short_edge: int) -> Size:
    """The ``(width, height)``, rounded up, at which an image of ``upright_size`` has
    ``short_edge`` pixels on its short edge (never more than its size)."""
    width, height = upright_size
    factor = min(1.0, short_edge / min(width, height))
    return int(math.ceil(width * factor)), int(math.ceil(height * factor))


def open_image_file(path: str) -> ImageHeader:
    """Read a local image file and open its header; a FIFO, device or socket is refused
    without reading.

    Opened non-blocking and checked on the open descriptor, so a file swapped for a FIFO
    after it was listed cannot hang the reader, nor a link to ``/dev/zero`` fill memory.

    Raises:
        ImageDecodeError: The file cannot be read, is not a regular file or is not an image
            (names the file).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
        with os.fdopen(fd, 'rb') as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError('not a regular file (a FIFO, device or socket)')
            data = f.read()
    except OSError as error:
        raise _failed('read', path, error) from error
    return ImageHeader(data, name=path)


def decode_image_file(
    path: str, short_edge: Optional[int] = None, background: Color = (255, 255, 255)
) -> np.ndarray:
    """Read and decode a local image file as mmtl's ``LoadImage(min_size=short_edge)`` does.

    Args:
        path (str): The file.
        short_edge (int, optional): Short-edge pixels needed (reduced-scale JPEG decode).
            Defaults to None: full size.
        background (tuple[int]): RGB colour under transparent pixels. Defaults to white.

    Returns:
        np.ndarray: ``H x W x 3`` BGR uint8, upright.

    Raises:
        ImageDecodeError: The file cannot be read or decoded, or is too large (names it).
    """
    header = open_image_file(path)
    target = None if short_edge is None else scaled_min_size(header.upright_size, short_edge)
    return header.decode(target, background)


def _array_to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 as is; uint16 scaled as 16-bit files are; floats in [0, 1] scaled to 0..255."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return _to_uint8(image, 255.0 / 65535.0)
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(
            f'an image array must be uint8 (0..255), uint16 (0..65535) or float (0..1); '
            f'got dtype {image.dtype}'
        )
    if image.size and not np.isfinite(image).all():
        raise ValueError('a float image array holds NaN or infinite values')
    low, high = (float(image.min()), float(image.max())) if image.size else (0.0, 0.0)
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f'a float image array must hold values in [0, 1] (taken as 0..255 after x 255); '
            f'this one spans [{low:.4g}, {high:.4g}]. For 0..255 values pass '
            f'array.round().astype(np.uint8)'
        )
    return _to_uint8(image, 255.0)


def array_to_bgr(image: np.ndarray, background: Color = (255, 255, 255)) -> np.ndarray:
    """The ``H x W x 3`` BGR uint8 image that inference classifies, from an array.

    Arrays are in **BGR** order (what ``cv2.imread`` returns): ``H x W`` or ``H x W x 1``
    (grey), ``H x W x 3`` (BGR) or ``H x W x 4`` (BGRA, composited onto ``background``);
    ``uint8``, ``uint16`` (scaled by 255 / 65535) or float with every value in [0, 1]. Any
    other range or dtype is refused: guessing it would classify the image wrongly.

    Args:
        image (np.ndarray): The image.
        background (tuple[int]): RGB colour under transparent pixels. Defaults to white.

    Returns:
        np.ndarray: ``H x W x 3`` BGR uint8, C-contiguous.

    Raises:
        ValueError: An unsupported shape, dtype or value range (the message says which).
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f'expected a numpy array, got {type(image).__name__}')
    shape_ok = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))
    if not shape_ok or 0 in image.shape[:2]:
        raise ValueError(
            f'an image array must be H x W, H x W x 1, H x W x 3 (BGR) or H x W x 4 (BGRA); '
            f'got shape {image.shape}'
        )
    pixels = _array_to_uint8(image)
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        return np.ascontiguousarray(_grey_to_rgb(pixels.reshape(pixels.shape[:2])))
    if pixels.shape[2] == 4:
        return _composite(pixels, background[::-1])
    return np.ascontiguousarray(pixels)
