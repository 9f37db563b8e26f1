"""App icons: decoded and re-encoded with Pillow so we never serve bytes we were handed."""
import io
import warnings

from PIL import Image

MAX_PIXELS = 4096 * 4096  # far above any app icon; refuses decompression bombs before decoding
MAX_SIDE = 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def to_png(data: bytes | None) -> bytes | None:
    """A clean RGBA PNG of the image, or None for anything Pillow cannot or should not decode."""
    if not data or _is_apple_crushed(data):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ("PNG", "WEBP", "JPEG") or img.width * img.height > MAX_PIXELS:
                return None
            img = img.convert("RGBA")
    except Exception:  # a broken icon must never fail the upload; the build just has no icon
        return None
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    Image.frombytes(img.mode, img.size, img.tobytes()).save(out, format="PNG")  # no metadata kept
    return out.getvalue()


def _is_apple_crushed(data: bytes) -> bool:
    """Xcode's "CgBI" PNGs (BGRA, raw deflate) only look like PNGs; un-crushing is not worth it."""
    return data.startswith(PNG_SIGNATURE) and data[12:16] == b"CgBI"
