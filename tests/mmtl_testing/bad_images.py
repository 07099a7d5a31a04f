"""Image files that are corrupt inside but keep their structure (shared by decode tests)."""

import io
import struct
import zlib

import numpy as np
from PIL import Image


def photo(size=(96, 64), seed=0) -> np.ndarray:
    """A smooth, photo-like RGB uint8 image of ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    noise = rng.normal(0, 12, size=base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def jpeg_bytes(size=(96, 64), seed=0, quality=90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(size, seed)).save(buffer, 'JPEG', quality=quality)
    return buffer.getvalue()


def png_bytes(size=(96, 64), seed=0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(size, seed)).save(buffer, 'PNG')
    return buffer.getvalue()


def corrupt_jpeg_inside(data: bytes, seed: int = 0) -> bytes:
    """Random bytes written over the middle of the entropy-coded data; SOI and EOI kept."""
    rng = np.random.default_rng(seed)
    start = data.index(b'\xff\xda') + 40
    end = len(data) - 8
    middle = (start + end) // 2
    junk = rng.integers(0, 255, size=min(64, (end - start) // 2), dtype=np.uint8).tobytes()
    return data[:middle] + junk + data[middle + len(junk) :]


def corrupt_png_inside(data: bytes, seed: int = 0) -> bytes:
    """Random bytes over the middle of the IDAT data, its CRC recomputed (chunks stay valid)."""
    rng = np.random.default_rng(seed)
    pos = data.index(b'IDAT') - 4
    length = struct.unpack('>I', data[pos : pos + 4])[0]
    body = bytearray(data[pos + 8 : pos + 8 + length])
    middle = len(body) // 2
    body[middle : middle + 32] = rng.integers(0, 256, size=32, dtype=np.uint8).tobytes()
    crc = struct.pack('>I', zlib.crc32(b'IDAT' + bytes(body)) & 0xFFFFFFFF)
    return data[: pos + 8] + bytes(body) + crc + data[pos + 12 + length :]


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width x height`` grey pixels, with one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack('>I', zlib.crc32(kind + body) & 0xFFFFFFFF)
        return struct.pack('>I', len(body)) + kind + body + crc

    header = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (
        b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', header)
        + chunk(b'IDAT', zlib.compress(b'\x00' * (width + 1)))
        + chunk(b'IEND', b'')
    )
