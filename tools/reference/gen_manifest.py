"""Merge the per-component manifest fragments into tests/fixtures/manifest.json and check coverage.

Every file under the component folders must be listed, and every listed file must exist.
"""
import hashlib
import json
import os
import sys

from common import FIX, GENERATOR, versions

COMPONENTS = ["tokenizer", "umt5", "dit", "vae", "scheduler", "noise", "pipeline", "numerics"]

TOLERANCE_CLASSES = {
    "exact": "bit-for-bit equal (token ids, RNG output, fp8/bf16/f16 bit patterns, inputs)",
    "f32": "fp32 computation: max|got-ref| <= 1e-4 * max(1, max|ref|) and cosine(got, ref) >= 0.99999",
    "bf16": "bf16 computation vs the bf16 reference: max|got-ref| <= 3e-2 * max(1, max|ref|) and cosine >= 0.999",
    "scheduler_1e-6": "scheduler arithmetic: max|got-ref| <= 1e-6 * max(1, max|ref|) (timesteps exact)",
    "uint8_psnr40": "uint8 frames: PSNR(got, ref) >= 40 dB",
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    tmp = os.environ["VGEN_REF_TMP"]
    entries = []
    for c in COMPONENTS:
        p = os.path.join(tmp, "manifest", c + ".json")
        if not os.path.exists(p):
            raise SystemExit(f"missing manifest fragment for {c}: did gen_{c} run?")
        with open(p) as f:
            entries += json.load(f)
    listed = set()
    for e in entries:
        full = os.path.join(FIX, e["path"])
        if not os.path.isfile(full):
            raise SystemExit(f"manifest lists a missing file: {e['path']}")
        if e["path"] in listed:
            raise SystemExit(f"listed twice: {e['path']}")
        listed.add(e["path"])
        e["bytes"] = os.path.getsize(full)
        e["sha256"] = sha256(full)
    on_disk = set()
    for c in COMPONENTS:
        for root, _, files in os.walk(os.path.join(FIX, c)):
            for fn in files:
                on_disk.add(os.path.relpath(os.path.join(root, fn), FIX).replace(os.sep, "/"))
    unlisted = sorted(on_disk - listed)
    if unlisted:
        raise SystemExit("files not in the manifest: " + ", ".join(unlisted))
    entries.sort(key=lambda e: (COMPONENTS.index(e["component"]), e["path"]))
    total = sum(e["bytes"] for e in entries)
    manifest = {
        "generator": GENERATOR,
        "versions": versions(),
        "tolerance_classes": TOLERANCE_CLASSES,
        "notes": "tolerance_class applies to every tensor of a file unless a glob in tensor_tolerance matches the "
                 "tensor name first. 'tensors' documents names and shapes (B batch, L tokens, F/H/W latent frames/"
                 "height/width, dim model width). Byte-reproducible on the generating machine; other CPUs may differ "
                 "in the last bits of float results (torch kernels), never in exact-class data.",
        "total_bytes": total,
        "files": entries,
    }
    with open(os.path.join(FIX, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"manifest: {len(entries)} files, {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
