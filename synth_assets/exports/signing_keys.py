"""Signing keys and certificates for the C2PA manifests of exported images.

The pair is one of:

* configured: PEM files named in the export config (``signing_key`` / ``signing_cert``) or by the
  variables :data:`KEY_ENV` / :data:`CERT_ENV`;
* local, without them: a self-signed pair (an ES256 CA and an end-entity certificate it issued;
  c2pa refuses a bare self-signed signer) made once under
  ``<output dir>/provenance/local-signer/`` and reused. Such a signature proves the file is
  unchanged since signing, but no C2PA validator trusts its signer. (An export with no place to
  keep a pair gets an ephemeral one, made in memory and not kept.)

Either is checked before use (the files exist and parse, the key matches the first certificate,
which is a current end-entity certificate), with errors that name the file and the problem.

The private key is only ever read from its file and handed to the signer: it never enters a log
line, an error message, metadata, run config or an export. Signing and reading manifests is
:mod:`synth_assets.exports.provenance`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY_ENV = "SYNTH_ASSETS_C2PA_SIGNING_KEY"
CERT_ENV = "SYNTH_ASSETS_C2PA_SIGNING_CERT"
LOCAL_SIGNER_DIR = ("provenance", "local-signer")  # under the output location
KEY_FILE, CHAIN_FILE, CA_FILE = "signer.key", "signer.pem", "ca.pem"
SELF_SIGNED_STATEMENT = (
    "signed with a self-signed local certificate (not trusted by C2PA validators; "
    "set signing_key/signing_cert for a real one)"
)
_CERT_HINT = (
    "C2PA needs an end-entity certificate (not a CA) with the digitalSignature key usage and an "
    "extended key usage such as emailProtection or documentSigning, followed by the certificates "
    "of its issuers; a bare self-signed certificate is refused"
)


class ProvenanceError(ValueError):
    """A signing key or certificate that cannot be used, or a manifest that cannot be made."""


@dataclass(frozen=True)
class SigningCredentials:
    """A PEM certificate chain (signer first) and its private key. ``kind``: ``configured``
    (files named in config or the environment), ``local`` (the self-signed pair kept under the
    output location) or ``ephemeral`` (a self-signed pair made in memory for one export)."""

    chain_pem: bytes = field(repr=False)
    private_key_pem: bytes = field(repr=False)
    alg: str  # c2pa signing algorithm: es256, es384, es512, ps256, ed25519
    subject: str
    issuer: str
    kind: str
    trust_anchor_pem: bytes | None = field(default=None, repr=False)  # local CA: to verify locally

    @property
    def self_signed(self) -> bool:
        return self.kind != "configured"

    @property
    def statement(self) -> str:
        """What the dataset card says about the signature (never the key)."""
        if self.kind == "configured":
            return f"signed with the configured certificate {self.subject} (issued by {self.issuer})"
        if self.kind == "ephemeral":
            return SELF_SIGNED_STATEMENT + "; the pair was made for this export only and not kept"
        return SELF_SIGNED_STATEMENT

    @classmethod
    def from_files(cls, key_path: str | Path, cert_path: str | Path) -> SigningCredentials:
        """Load and check a configured pair: the files exist, parse, the key matches the first
        certificate, which is a current end-entity certificate."""
        key_path, cert_path = Path(key_path).expanduser(), Path(cert_path).expanduser()
        for label, path in (("signing_key", key_path), ("signing_cert", cert_path)):
            if "-----BEGIN" in str(path) or "\n" in str(path):  # the PEM text itself, not a path
                raise ProvenanceError(
                    f"{label} holds key or certificate material, not a file path: give the path of a "
                    "PEM file (its content is not repeated here)"
                )
            if not path.is_file():
                raise ProvenanceError(f"{label}: no file at {path}")
        certs = _load_chain(cert_path.read_bytes(), f"signing_cert {cert_path}")
        key = _load_key(key_path.read_bytes(), f"signing_key {key_path}")
        if _public_der(key.public_key()) != _public_der(certs[0].public_key()):
            raise ProvenanceError(
                f"signing_key {key_path} does not match the certificate in signing_cert {cert_path} "
                f"({certs[0].subject.rfc4514_string()}): the first certificate must be the signer's"
            )
        _check_signer_certificate(certs[0], f"signing_cert {cert_path}")
        return cls(
            _pem_chain(certs),
            _key_pem(key),
            _algorithm(key, f"signing_key {key_path}"),
            certs[0].subject.rfc4514_string(),
            certs[0].issuer.rfc4514_string(),
            "configured",
        )

    @classmethod
    def ephemeral(cls) -> SigningCredentials:
        """A self-signed pair in memory, for an export made without a place to keep one."""
        ca, ca_key, cert, key = _make_local_pair()
        return cls._local(ca, cert, key, "ephemeral")

    @classmethod
    def _local(cls, ca, cert, key, kind: str) -> SigningCredentials:
        return cls(
            _pem_chain([cert, ca]),
            _key_pem(key),
            "es256",
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            kind,
            _pem_chain([ca]),
        )


def _load_chain(data: bytes, label: str) -> list:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise ProvenanceError(f"{label}: not a PEM certificate or chain ({error})") from None
    return certs


def _load_key(data: bytes, label: str):
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ProvenanceError(
            f"{label}: the key is encrypted; give an unencrypted PEM key (keep the file private, mode 0600)"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ProvenanceError(f"{label}: not a PEM private key ({type(error).__name__})") from None


def _public_der(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_chain(certs) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _algorithm(key, label: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in by_curve:
            raise ProvenanceError(
                f"{label}: EC curve {key.curve.name} is not one C2PA signs with (P-256/384/521)"
            )
        return by_curve[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"  # C2PA allows RSA-PSS only
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ProvenanceError(
        f"{label}: a {type(key).__name__} cannot sign C2PA manifests (use EC P-256, RSA or Ed25519)"
    )


def _check_signer_certificate(cert, label: str) -> None:
    from cryptography import x509

    now = dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc < now:
        raise ProvenanceError(
            f"{label}: the certificate {cert.subject.rfc4514_string()} expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d}"
        )
    if cert.not_valid_before_utc > now:
        raise ProvenanceError(
            f"{label}: the certificate {cert.subject.rfc4514_string()} is not valid "
            f"before {cert.not_valid_before_utc:%Y-%m-%d}"
        )
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ProvenanceError(f"{label}: the first certificate is a CA certificate; {_CERT_HINT}")
    except x509.ExtensionNotFound:
        pass


def _make_local_pair():
    """A P-256 CA and an end-entity signing certificate it issued (C2PA refuses a self-signed
    end-entity certificate, and a CA certificate as signer)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str):
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "synth_assets self-signed local"),
            ]
        )

    def usage(signing: bool):
        return x509.KeyUsage(
            digital_signature=signing, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=not signing,
            crl_sign=not signing, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = name("synth_assets local CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("synth_assets local signer"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ca, ca_key, cert, key


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (it must not exist) with ``mode`` from the start: the key is never
    readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def local_credentials(folder: Path) -> SigningCredentials:
    """The self-signed pair in ``folder`` (``signer.key`` mode 0600, ``signer.pem`` = signer +
    CA, ``ca.pem``), made on first use. The three files are written into a private temporary
    folder that is renamed into place, so a reader sees all of them or none; when two runs make
    a pair at once, the first rename wins and the other run uses its pair."""
    folder = Path(folder)
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        ca, _, cert, key = _make_local_pair()
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        try:
            _write_file(staging / KEY_FILE, _key_pem(key), 0o600)
            _write_file(staging / CHAIN_FILE, _pem_chain([cert, ca]), 0o644)
            _write_file(staging / CA_FILE, _pem_chain([ca]), 0o644)
            os.rename(staging, folder)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not folder.exists():
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return _load_local(folder)


def _load_local(folder: Path) -> SigningCredentials:
    def damaged(why: str) -> ProvenanceError:
        return ProvenanceError(
            f"the local signing folder {folder} is incomplete or damaged ({why}); "
            "delete it and a new self-signed pair is made on the next export"
        )

    missing = [name for name in (KEY_FILE, CHAIN_FILE, CA_FILE) if not (folder / name).is_file()]
    if missing:
        raise damaged(f"missing {', '.join(missing)}")
    key_file = folder / KEY_FILE
    if key_file.stat().st_mode & 0o077:
        os.chmod(key_file, 0o600)  # someone widened it: the key stays private
    try:
        certs = _load_chain((folder / CHAIN_FILE).read_bytes(), CHAIN_FILE)
        [ca] = _load_chain((folder / CA_FILE).read_bytes(), CA_FILE)
        key = _load_key(key_file.read_bytes(), KEY_FILE)
        if _public_der(key.public_key()) != _public_der(certs[0].public_key()):
            raise ProvenanceError(f"{KEY_FILE} does not match {CHAIN_FILE}")
        _check_signer_certificate(certs[0], CHAIN_FILE)
    except (ProvenanceError, ValueError) as error:
        raise damaged(str(error)) from None
    return SigningCredentials._local(ca, certs[0], key, "local")


def resolve_credentials(
    signing_key: str | None,
    signing_cert: str | None,
    local_folder: Path,
    environ: Mapping[str, str] | None = None,
) -> SigningCredentials:
    """The configured pair (config fields first, then :data:`KEY_ENV` / :data:`CERT_ENV`), else
    the local self-signed pair in ``local_folder``."""
    environ = os.environ if environ is None else environ
    key = signing_key or environ.get(KEY_ENV) or None
    cert = signing_cert or environ.get(CERT_ENV) or None
    if key and cert:
        return SigningCredentials.from_files(key, cert)
    if key or cert:
        given, other = ("signing_key", "signing_cert") if key else ("signing_cert", "signing_key")
        raise ProvenanceError(
            f"{given} is set but {other} is not (config or {KEY_ENV} / {CERT_ENV}): they go together"
        )
    return local_credentials(local_folder)
