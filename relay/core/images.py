"""User images (avatars, team logo, screenshots): checked, re-encoded and stripped with Pillow."""
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from relay.core.errors import Invalid, TooLarge

MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding a single pixel
LABELS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}


def read_limited(stream, limit: int, what: str) -> bytes:
    """Read at most `limit` bytes from an uploaded file; 413 as soon as it holds more."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{what} must be at most {limit // (1024 * 1024)} MB")
    return data


def normalize(data: bytes, allowed=("PNG", "JPEG"), max_side: int = 1024) -> tuple[bytes, str, str]:
    """Return (clean bytes, extension, mime) of a re-encoded copy with no metadata."""
    names = "/".join(LABELS[f] for f in allowed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            if fmt not in allowed:
                raise Invalid(f"image must be {names}")
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise Invalid("image dimensions are too large")
            img.load()
            img = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(f"image must be {names}") from None
    mode = "RGBA" if img.mode in ("RGBA", "LA", "P", "PA") and fmt != "JPEG" else "RGB"
    img = img.convert(mode)
    img.thumbnail((max_side, max_side))
    clean = Image.frombytes(img.mode, img.size, img.tobytes())  # no info, EXIF or ICC carried over
    out = io.BytesIO()
    clean.save(out, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    ext, mime = FORMATS[fmt]
    return out.getvalue(), ext, mime


def store_upload(store, upload, folder: str, limit: int, what: str, max_side: int = 512,
                 allowed=("PNG", "JPEG")) -> tuple[str, str] | tuple[None, None]:
    """Check, clean and store an uploaded image: (storage key, mime), or (None, None) when no
    file was sent."""
    if upload is None or (not upload.filename and not upload.content_length):
        return None, None
    data = read_limited(upload.stream, limit, what)
    if not data:
        return None, None
    clean, ext, mime = normalize(data, allowed=allowed, max_side=max_side)
    return store.put_bytes(folder, ext, clean), mime
