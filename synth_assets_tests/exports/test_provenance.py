"""C2PA provenance of exported images: signing keys (local self-signed pair, configured files,
clear errors), manifests read back with c2pa's Reader, an intact file against a tampered one, and
image exports where synthetic files say "AI-generated" and real ones don't."""

import datetime as dt
import io
import os
import stat
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from synth_assets.exports import provenance as prov
from synth_assets.exports import signing_keys as keys
from synth_assets.exports import watermark as wm
from synth_assets.exports.writers import export_images, verify_manifest
from synth_assets.images.sources import load_digits_images, split_images
from synth_assets.mix.datasets import AnchoredMix, mix_images
from synth_assets_tests.exports.test_watermark import smooth_image

GENERATION = {"model": "test model", "seed": 1234, "class_name": "3", "origin_id": "5"}


def png_bytes(pixels: np.ndarray, **text: str) -> bytes:
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def png_chunks(data: bytes):
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        yield data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length


def flip_pixels(data: bytes) -> bytes:
    """The same PNG with a few pixel bytes inverted, re-compressed with correct CRCs: still a
    valid PNG, every other chunk (the C2PA ``caBX`` one too) untouched."""
    out = bytearray(data[:8])
    for kind, body in png_chunks(data):
        if kind == b"IDAT":
            raw = bytearray(zlib.decompress(body))
            for i in (1, 2, 3):  # raw[0] is the first row's filter byte
                raw[i] ^= 0xFF
            body = zlib.compress(bytes(raw))
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return bytes(out)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return keys.local_credentials(tmp_path_factory.mktemp("out") / "provenance" / "local-signer")


@pytest.fixture(scope="module")
def signed(local):
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    with prov.ImageSigner(local) as signer:
        return signer.sign_png(
            png_bytes(pixels, synthetic="true"), prov.synthetic_image_manifest("x.png", GENERATION)
        )


def write_pair(folder, cert, key, *more):
    key_file, cert_file = folder / "signer.key", folder / "signer.pem"
    key_file.write_bytes(keys._key_pem(key))
    cert_file.write_bytes(keys._pem_chain([cert, *more]))
    return key_file, cert_file


# --- reading back --------------------------------------------------------------------


def test_a_signed_synthetic_image_reads_back_as_ai_generated_and_intact(signed):
    summary = prov.read_manifest(signed)
    assert summary.has_manifest and summary.ai_generated
    assert summary.actions == ("c2pa.created",) and summary.digital_source_types == (prov.AI_GENERATED,)
    assert summary.generation == GENERATION
    assert summary.claim_generator == (f"synth_assets {prov.software_agent()['version']}",)
    assert summary.signer == "synth_assets local signer"
    # intact (signature and hashes check out) but the self-signed signer is on no trust list
    assert summary.validation_state == "Valid" and summary.intact and not summary.trusted
    assert summary.trust_failures == ("signingCredential.untrusted",) and summary.integrity_failures == ()
    assert Image.open(io.BytesIO(signed)).text["synthetic"] == "true"  # text chunks survive signing


def test_the_local_ca_as_trust_anchor_makes_the_signature_trusted(signed, local):
    summary = prov.read_manifest(signed, trust_anchors=local.trust_anchor_pem)
    assert summary.validation_state == "Trusted" and summary.trusted and summary.failures == ()


def test_a_tampered_image_fails_the_data_hash(signed):
    tampered = flip_pixels(signed)
    before, after = (np.asarray(Image.open(io.BytesIO(d))) for d in (signed, tampered))
    assert before.shape == after.shape and not np.array_equal(before, after)  # a valid PNG, other pixels
    summary = prov.read_manifest(tampered)
    assert summary.has_manifest and summary.ai_generated  # the claim is still there to read ...
    assert summary.validation_state == "Invalid" and not summary.intact  # ... but no longer holds
    assert "assertion.dataHash.mismatch" in summary.integrity_failures
    assert prov.read_manifest(flip_pixels(flip_pixels(signed))).intact  # the helper only flips pixels


def test_a_file_without_a_manifest_has_no_claim(tmp_path):
    path = tmp_path / "plain.png"
    path.write_bytes(png_bytes(np.zeros((8, 8), np.uint8), synthetic="false"))
    summary = prov.read_manifest(path)
    assert not summary.has_manifest and not summary.ai_generated and not summary.intact


# --- signing keys --------------------------------------------------------------------


def test_the_local_pair_is_made_once_private_and_reused(tmp_path, monkeypatch):
    folder = tmp_path / "out" / "provenance" / "local-signer"
    created_modes, load = [], keys._load_local

    def spy(path):  # the mode the key was written with, before loading could narrow it
        created_modes.append(stat.S_IMODE((path / "signer.key").stat().st_mode))
        return load(path)

    monkeypatch.setattr(keys, "_load_local", spy)
    first = keys.local_credentials(folder)
    assert created_modes == [0o600]
    assert sorted(p.name for p in folder.iterdir()) == ["ca.pem", "signer.key", "signer.pem"]
    assert stat.S_IMODE((folder / "signer.key").stat().st_mode) == 0o600
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left
    again = keys.local_credentials(folder)
    assert again.chain_pem == first.chain_pem and again.private_key_pem == first.private_key_pem
    assert first.kind == "local" and first.self_signed and first.statement == keys.SELF_SIGNED_STATEMENT
    signer, ca = x509.load_pem_x509_certificates(first.chain_pem)
    assert not signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert signer.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert (
        ExtendedKeyUsageOID.EMAIL_PROTECTION
        in signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert signer.issuer == ca.subject and isinstance(signer.public_key().curve, ec.SECP256R1)
    assert "PRIVATE KEY" not in repr(first) and "PRIVATE KEY" not in first.statement
    os.chmod(folder / "signer.key", 0o644)  # widened by hand: narrowed again on use
    keys.local_credentials(folder)
    assert stat.S_IMODE((folder / "signer.key").stat().st_mode) == 0o600


def test_a_damaged_local_folder_is_named_with_the_fix(tmp_path):
    folder = tmp_path / "local-signer"
    keys.local_credentials(folder)
    (folder / "ca.pem").unlink()
    with pytest.raises(
        keys.ProvenanceError, match=r"local-signer is incomplete or damaged \(missing ca.pem\); delete"
    ):
        keys.local_credentials(folder)


def test_a_configured_pair_signs_and_the_card_names_its_subject(tmp_path):
    ca, _, cert, key = keys._make_local_pair()
    key_file, cert_file = write_pair(tmp_path, cert, key, ca)
    credentials = keys.SigningCredentials.from_files(key_file, cert_file)
    assert credentials.kind == "configured" and not credentials.self_signed
    assert credentials.statement.startswith("signed with the configured certificate ")
    assert "CN=synth_assets local signer" in credentials.statement and "PRIVATE" not in credentials.statement
    with prov.ImageSigner(credentials) as signer:
        data = signer.sign_png(png_bytes(np.zeros((8, 8), np.uint8)), prov.synthetic_image_manifest("a", {}))
    assert prov.read_manifest(data).intact
    # the environment names the pair when the config does not
    env = {keys.KEY_ENV: str(key_file), keys.CERT_ENV: str(cert_file)}
    resolved = keys.resolve_credentials(None, None, tmp_path / "unused", environ=env)
    assert resolved.kind == "configured" and not (tmp_path / "unused").exists()
    local = keys.resolve_credentials(None, None, tmp_path / "local", environ={})
    assert local.kind == "local" and (tmp_path / "local" / "signer.key").exists()


def test_configured_pairs_that_cannot_sign_are_refused_with_the_reason(tmp_path):
    ca, ca_key, cert, key = keys._make_local_pair()
    key_file, cert_file = write_pair(tmp_path, cert, key, ca)
    other = ec.generate_private_key(ec.SECP256R1())
    wrong_key = tmp_path / "other.key"
    wrong_key.write_bytes(keys._key_pem(other))
    cases = [
        ((tmp_path / "nope.key", cert_file), "signing_key: no file at .*nope.key"),
        ((key_file, tmp_path / "nope.pem"), "signing_cert: no file at .*nope.pem"),
        ((wrong_key, cert_file), "other.key does not match the certificate in signing_cert"),
        ((key_file, key_file), "not a PEM certificate"),
        ((cert_file, cert_file), "not a PEM private key"),
    ]
    ca_first = tmp_path / "ca-first.pem"
    ca_first.write_bytes(keys._pem_chain([ca]))
    ca_key_file = tmp_path / "ca.key"
    ca_key_file.write_bytes(keys._key_pem(ca_key))
    cases.append(((ca_key_file, ca_first), "the first certificate is a CA certificate"))
    for (k, c), message in cases:
        with pytest.raises(keys.ProvenanceError, match=message) as raised:
            keys.SigningCredentials.from_files(k, c)
        assert "BEGIN" not in str(raised.value)  # no key or certificate text in a message
    with pytest.raises(keys.ProvenanceError, match="signing_key is set but signing_cert is not"):
        keys.resolve_credentials(str(key_file), None, tmp_path / "local", environ={})
    with pytest.raises(keys.ProvenanceError, match="signing_cert is set but signing_key is not"):
        keys.resolve_credentials(None, None, tmp_path / "local", environ={keys.CERT_ENV: str(cert_file)})


def test_c2pa_refuses_a_bare_self_signed_certificate_before_anything_is_written(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bare")])
    now = dt.datetime.now(dt.UTC)
    bare = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = tmp_path / "k.pem", tmp_path / "c.pem"
    key_file.write_bytes(keys._key_pem(key))
    cert_file.write_bytes(bare.public_bytes(serialization.Encoding.PEM))
    credentials = keys.SigningCredentials.from_files(key_file, cert_file)  # our checks pass ...
    with pytest.raises(keys.ProvenanceError, match="c2pa refused to sign with the certificate CN=bare"):
        prov.ImageSigner(credentials)  # ... c2pa's don't
    mix = small_mix(4)
    with pytest.raises(keys.ProvenanceError):
        export_images(mix, tmp_path / "export", None, "how", credentials=credentials)
    assert not (tmp_path / "export").exists()


# --- exports ------------------------------------------------------------------------


def small_mix(n_synthetic: int = 30, real_share: float = 0.2, records: bool = True):
    images, labels, class_names, source = load_digits_images()
    split = split_images(images, labels, class_names, source, seed=0)
    rng = np.random.default_rng(1)
    synthetic = rng.random((n_synthetic, 1, 8, 8)).astype(np.float32)
    synthetic_labels = np.arange(n_synthetic) % len(class_names)
    made = pd.DataFrame({"seed": 7_000_000 + np.arange(n_synthetic), "steps": 10, "sampler": "DDIM"})
    mixed, index, facts = mix_images(
        synthetic, synthetic_labels, split.train, split.train_labels, real_share, 0, made if records else None
    )
    provenance = {"generator": "tiny UNet, seed 0", "passed_checks": {"fid": "run-1"}}
    return AnchoredMix("images", index, facts, mixed, split.class_names, provenance)


def read_rows(folder):
    return pd.read_csv(
        folder / "manifest.csv",
        dtype={"origin_id": str, "class_name": str, "watermark_payload": str},
        keep_default_na=False,
    )


def test_an_image_export_signs_synthetic_files_and_leaves_real_ones_unclaimed(tmp_path, local):
    mix = small_mix()
    synthetic = mix.data["source"] == "synthetic"
    folder = export_images(mix, tmp_path / "export", None, "how", credentials=local)
    rows = read_rows(folder)
    assert rows["c2pa_manifest"].tolist() == (rows["source"] == "synthetic").tolist()
    assert (rows["watermark_payload"] == "").all()  # 8x8 digits: too small for a watermark
    assert verify_manifest(folder) == []  # SHA256SUMS covers the signed files
    for row in rows.itertuples():
        summary = prov.read_manifest(folder / row.file)
        text = Image.open(folder / row.file).text
        if row.source == "synthetic":
            assert summary.ai_generated and summary.intact and text["synthetic"] == "true"
            g = summary.generation
            assert g["seed"] == 7_000_000 + int(row.origin_id) and g["steps"] == 10 and g["sampler"] == "DDIM"
            assert g["model"] == "tiny UNet, seed 0" and g["origin_id"] == row.origin_id
            assert g["class_name"] == row.class_name and g["passed_checks"] == ["fid"]
            assert g["watermark"] == {"embedded": False, "reason": "8x8 px, below 256 px"}
        else:
            assert not summary.has_manifest and not summary.ai_generated and text["synthetic"] == "false"
    card = (folder / "README.md").read_text()
    assert keys.SELF_SIGNED_STATEMENT in card and "real images carry no C2PA manifest" in card
    assert f"{synthetic.sum()} synthetic images carry a signed C2PA manifest" in card
    assert "PRIVATE KEY" not in "".join(
        p.read_text(errors="ignore") for p in folder.rglob("*") if p.is_file()
    )


def test_without_seeds_the_manifest_says_why(tmp_path):
    folder = export_images(small_mix(3, records=False), tmp_path / "e", None, "how")
    row = read_rows(folder).query("source == 'synthetic'").iloc[0]
    generation = prov.read_manifest(folder / row.file).generation
    assert generation["seed"] is None and "carries no seed" in generation["seed_note"]
    assert "made for this export only" in (folder / "README.md").read_text()  # an ephemeral pair


def test_large_synthetic_images_are_watermarked_under_the_signature(tmp_path, local):
    n = 3
    synthetic = np.stack([smooth_image(256, 320, seed=s) for s in range(n)]).transpose(0, 3, 1, 2) / 255.0
    real = np.stack([smooth_image(256, 320, seed=10 + s) for s in range(4)]).transpose(0, 3, 1, 2) / 255.0
    mixed, index, facts = mix_images(synthetic, np.zeros(n, int), real, np.zeros(4, int), 0.25)
    mix = AnchoredMix("images", index, facts, mixed, ["blob"], {"generator": "a pipeline"})
    folder = export_images(mix, tmp_path / "big", None, "how", credentials=local)
    rows = read_rows(folder)
    assert (rows["source"] == "real").sum() == 1
    for row in rows.itertuples():
        if row.source == "synthetic":
            payload = wm.payload_for(f"{row.origin}#{row.origin_id}")
            assert wm.detect_file(folder / row.file) == payload and row.watermark_payload == payload.hex()
            summary = prov.read_manifest(folder / row.file)
            # signed after the watermark: the hard binding covers the watermarked pixels
            assert summary.intact and summary.ai_generated
            mark = summary.generation["watermark"]
            assert mark["embedded"] and mark["payload_hex"] == payload.hex() and mark["method"] == wm.METHOD
        else:
            assert wm.detect_file(folder / row.file) is None and row.watermark_payload == ""
            assert not prov.read_manifest(folder / row.file).has_manifest
    assert "also carry an invisible watermark" in (folder / "README.md").read_text()
    off = read_rows(export_images(mix, tmp_path / "off", None, "how", credentials=local, watermark=False))
    assert (off["watermark_payload"] == "").all()
