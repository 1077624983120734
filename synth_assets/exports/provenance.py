"""C2PA Content Credentials for exported images: signing and reading back.

Every exported *synthetic* image carries a signed C2PA manifest (made with ``c2pa-python``):

* a ``c2pa.actions`` assertion with one action, ``c2pa.created``, whose ``digitalSourceType`` is
  IPTC's ``trainedAlgorithmicMedia`` ("created by a model trained on sampled content", i.e.
  AI-generated) and whose ``softwareAgent`` is synth_assets and its version;
* a custom ``org.synth_assets.generation`` assertion: the model, the per-image seed (with the
  sampler and its steps when known), the class, the origin and origin id, the checks the data
  passed, and whether an invisible watermark was embedded (and its payload);
* the claim generator: synth_assets and its version.

*Real* images get no manifest. We did not make them, and no C2PA digital source type honestly
describes them (the bundled digits are scans of handwriting, reduced to 8x8 counts): a
``c2pa.created`` claim needs a source type, ``c2pa.opened`` needs the original file as a parent
ingredient, and a signature of ours would vouch for content that is not ours. They keep the PNG
text chunk ``synthetic=false`` and are listed as ``real`` in the export's ``manifest.csv``; a
reader finds no ``trainedAlgorithmicMedia`` claim in them.

The signing key and certificate come from :mod:`synth_assets.exports.signing_keys`: a configured
pair, or a self-signed local one that no C2PA validator trusts. The private key is only handed to
the signer: it never enters a log line, an error message, metadata, run config or an export.

No network is used: no timestamp authority, no OCSP, no remote manifests.
"""

from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from synth_assets.exports.signing_keys import _CERT_HINT, ProvenanceError, SigningCredentials

AI_GENERATED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# also AI-generated, in part: what a reader flags as such
AI_SOURCE_TYPES = frozenset(
    {AI_GENERATED, "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"}
)
GENERATION_LABEL = "org.synth_assets.generation"
# Validation codes that say "the signer is not on a trust list", not "the file or the
# signature is broken": a self-signed signature is intact but untrusted.
TRUST_CODES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})
VALID_STATES = frozenset({"Valid", "Trusted"})

# No thumbnail: c2pa would embed a JPEG preview of every image in its manifest (an 8x8 digit
# would grow from ~150 bytes to ~44 KB). Nothing is fetched over the network.
_OFFLINE = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
_SIGN_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}, **_OFFLINE}


def software_agent() -> dict:
    try:
        release = version("synth_assets")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        release = "unknown"
    return {"name": "synth_assets", "version": release}


# --- signing ----------------------------------------------------------------------------


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    return buffer.getvalue()


# signs the 1x1 probe image, which is thrown away (so no claim about real content is made)
_PROBE_MANIFEST = {
    "title": "probe",
    "assertions": [
        {
            "label": "c2pa.actions",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation",
                    }
                ]
            },
        }
    ],
}


class ImageSigner:
    """One c2pa Signer and Context reused for many files (a c2pa Builder is single-use, and
    cheap). Construction signs a 1x1 probe image, so that a certificate c2pa refuses is reported
    before any export file is written."""

    def __init__(self, credentials: SigningCredentials):
        import c2pa

        self.credentials = credentials
        self._c2pa = c2pa
        self._context = c2pa.Context(settings=c2pa.Settings.from_dict(_SIGN_SETTINGS))
        algorithm = getattr(c2pa.C2paSigningAlg, credentials.alg.upper())
        try:
            self._signer = c2pa.Signer.from_info(
                c2pa.C2paSignerInfo(algorithm, credentials.chain_pem, credentials.private_key_pem, None)
            )
            self.sign_png(_tiny_png(), _PROBE_MANIFEST)  # discarded
        except c2pa.C2paError as error:
            self.close()
            hint = (
                f" ({_CERT_HINT})" if "certificate" in str(error).lower() or "Signature" in str(error) else ""
            )
            raise ProvenanceError(
                f"c2pa refused to sign with the certificate {credentials.subject}: {error}{hint}"
            ) from None

    def sign_png(self, png: bytes, manifest: dict) -> bytes:
        """``png`` with ``manifest`` signed and embedded (a ``caBX`` chunk)."""
        builder = self._c2pa.Builder(manifest, self._context)
        signed = io.BytesIO()
        try:
            builder.sign(self._signer, "image/png", io.BytesIO(png), signed)
        finally:
            builder.close()
        return signed.getvalue()

    def close(self) -> None:
        for name in ("_signer", "_context"):
            resource = getattr(self, name, None)
            if resource is not None:
                resource.close()
                setattr(self, name, None)

    def __enter__(self) -> ImageSigner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def synthetic_image_manifest(title: str, generation: dict) -> dict:
    """The manifest definition of one AI-generated image: ``c2pa.created`` with
    ``trainedAlgorithmicMedia`` by synth_assets, and ``generation`` as the custom
    :data:`GENERATION_LABEL` assertion."""
    agent = software_agent()
    model = generation.get("model") or "an unnamed model"
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": "image/png",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": AI_GENERATED,
                            "softwareAgent": agent,
                            "description": f"Generated by {model} (synthetic training data)",
                        }
                    ]
                },
            },
            {"label": GENERATION_LABEL, "data": generation},
        ],
    }


# --- reading back -----------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestSummary:
    """What a file's active C2PA manifest says, and how it validated.

    ``intact``: the signature and every hash check out (the file is as it was signed);
    ``trusted``: moreover, the signer chains to a trust anchor. A self-signed signature of an
    unchanged file is intact but not trusted: its only failure is ``signingCredential.untrusted``.
    A changed file fails with e.g. ``assertion.dataHash.mismatch``."""

    has_manifest: bool
    ai_generated: bool = False
    actions: tuple[str, ...] = ()
    digital_source_types: tuple[str, ...] = ()
    generation: dict | None = None
    claim_generator: tuple[str, ...] = ()
    signer: str | None = None
    validation_state: str | None = None
    failures: tuple[str, ...] = ()

    @property
    def trust_failures(self) -> tuple[str, ...]:
        return tuple(code for code in self.failures if code in TRUST_CODES)

    @property
    def integrity_failures(self) -> tuple[str, ...]:
        return tuple(code for code in self.failures if code not in TRUST_CODES)

    @property
    def intact(self) -> bool:
        return self.has_manifest and self.validation_state in VALID_STATES and not self.integrity_failures

    @property
    def trusted(self) -> bool:
        return self.intact and self.validation_state == "Trusted"


def _mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "image/png"


def read_manifest(source: str | Path | bytes, trust_anchors: bytes | str | None = None) -> ManifestSummary:
    """Read and validate the C2PA manifest of a file (path) or of file bytes (PNG unless the
    path says otherwise). ``trust_anchors``: PEM root certificates to trust besides none (e.g.
    the local CA's ``ca.pem``, so that a self-signed export validates as ``Trusted``). Offline."""
    import c2pa

    if isinstance(source, bytes):
        data, mime = source, "image/png"
    else:
        path = Path(source)
        data, mime = path.read_bytes(), _mime(path)
    settings = dict(_OFFLINE)
    if trust_anchors:
        anchors = trust_anchors.decode() if isinstance(trust_anchors, bytes) else trust_anchors
        settings["trust"] = {"trust_anchors": anchors}
    with c2pa.Context(settings=c2pa.Settings.from_dict(settings)) as context:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, context)
        if reader is None:
            return ManifestSummary(has_manifest=False)
        with reader:
            manifest = reader.get_active_manifest() or {}
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
    failures = tuple(item.get("code", "") for item in results.get("activeManifest", {}).get("failure", []))
    actions, sources, generation = [], [], None
    for assertion in manifest.get("assertions", []):
        label = assertion.get("label", "")
        if label.startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                actions.append(action.get("action", ""))
                if action.get("digitalSourceType"):
                    sources.append(action["digitalSourceType"])
        elif label == GENERATION_LABEL:
            generation = assertion.get("data")
    signature = manifest.get("signature_info", {})
    return ManifestSummary(
        has_manifest=True,
        ai_generated=any(s in AI_SOURCE_TYPES for s in sources),
        actions=tuple(actions),
        digital_source_types=tuple(sources),
        generation=generation,
        claim_generator=tuple(
            f"{g.get('name')} {g.get('version', '')}".strip()
            for g in manifest.get("claim_generator_info", [])
        ),
        signer=signature.get("common_name") or signature.get("issuer"),
        validation_state=state,
        failures=failures,
    )
