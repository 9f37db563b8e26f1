"""ES256 manifest signatures, byte for byte what @otakit/capacitor-updater verifies.

The plugin (ManifestVerifier, canonical payload v2) rebuilds this text from the manifest's own
fields and checks the DER ECDSA P-256/SHA-256 signature, base64url without padding, against the
`manifestKeys` entry whose `kid` the manifest names.
"""
import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from relay.datadir import write_private

KEY_FILE = "ota_signing_key.pem"
VALIDITY = 365 * 24 * 3600  # seconds a manifest signature stays valid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_payload(*, app_id: str, channel: str | None, version: str, sha256: str, size: int,
                      runtime_version: str | None, kid: str, iat: int, exp: int,
                      strategy: str = "zip", force_immediate: bool = False,
                      encryption: str | None = None) -> str:
    """The signed text; `null` stands for an absent channel, runtime version or encryption."""
    lines = ["MANIFEST", f"appId:{app_id}", f"channel:{_or_null(channel)}", f"version:{version}",
             f"sha256:{sha256}", f"size:{size}", f"runtimeVersion:{_or_null(runtime_version)}",
             f"strategy:{strategy}", f"forceImmediate:{'true' if force_immediate else 'false'}",
             f"encryption:{_or_null(encryption)}", f"kid:{kid}", f"iat:{iat}", f"exp:{exp}"]
    return "\n".join(lines)


def _or_null(value) -> str:
    return "null" if value is None else str(value)


@dataclass(frozen=True)
class Signer:
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_der(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def kid(self) -> str:
        return "relay-" + hashlib.sha256(self.public_der).hexdigest()[:12]

    def manifest_key(self) -> dict:
        """The entry to paste into the plugin's `manifestKeys`."""
        return {"kid": self.kid, "key": base64.b64encode(self.public_der).decode()}

    def sign(self, payload: str) -> str:
        return b64url(self.private_key.sign(payload.encode(), ec.ECDSA(hashes.SHA256())))


def verify(public_der: bytes, payload: str, signature: str) -> bool:
    key = serialization.load_der_public_key(public_der)
    try:
        key.verify(b64url_decode(signature), payload.encode(), ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def load_signer(data_dir: Path, pem: str = "") -> Signer:
    """The key given as PEM (settings), else DATA_DIR/ota_signing_key.pem, generated on first use."""
    if pem:
        return Signer(_load_pem(pem.encode(), "ota_signing_key setting"))
    path = data_dir / KEY_FILE
    if path.exists():
        return Signer(_load_pem(path.read_bytes(), str(path)))
    key = ec.generate_private_key(ec.SECP256R1())
    write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode())
    return Signer(key)


def _load_pem(data: bytes, where: str) -> ec.EllipticCurvePrivateKey:
    from relay.config import ConfigError
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not a PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{where}: the OTA signing key must be an EC P-256 key")
    return key
