#!/usr/bin/env python3
"""Copies the inputs of spec/vectors/*.json and spec/vectors/messages/ into
fuzz/corpus/<target>/ as seeds, and the
SDRS and Kivra fixtures of formats/fixtures/ into fuzz/corpus/import_sdrs and import_kivra.

Random bytes almost never carry a valid signature; seeded with the vectors, the fuzzers
start from valid and nearly valid records. Run from anywhere: python3 fuzz/seed_corpus.py
"""
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "spec" / "vectors"
FIXTURES = FUZZ.parent / "formats" / "fixtures"
TARGETS = {
    "receipt": "decode_receipt",
    "claim": "decode_claim",
    "claim_event": "decode_claim_event",
    "directory": "decode_directory",
    "evidence": "decode_evidence",
    "assignment": "decode_assignment",
}


def seed(target, name, hex_bytes):
    directory = FUZZ / "corpus" / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(bytes.fromhex(hex_bytes))


count = 0
for path in sorted(VECTORS.glob("*.json")):
    vector = json.loads(path.read_text())
    inputs = []  # (decoder, name, hex)
    if "cbor" in vector:
        inputs.append((vector["decode_as"], vector["name"], vector["cbor"]))
    if vector.get("decode_as") == "claim_history":
        inputs.append(("claim", vector["name"] + "-claim", vector["claim"]))
        for index, event in enumerate(vector["events"]):
            inputs.append(("claim_event", f"{vector['name']}-event-{index}", event))
    for decoder, name, hex_bytes in inputs:
        for target in {TARGETS.get(decoder), "decode_any", "cbor_decode"} - {None}:
            seed(target, name, hex_bytes)
            count += 1
# The messages between nodes (spec/vectors/messages/) seed the message decoder.
for path in sorted((VECTORS / "messages").glob("*.json")):
    vector = json.loads(path.read_text())
    for target in ("decode_message", "cbor_decode"):
        seed(target, vector["name"], vector["cbor"])
        count += 1
for target, pattern in (("import_sdrs", "sdrs/**/*.xml"), ("import_kivra", "kivra/*.json")):
    for path in sorted(FIXTURES.glob(pattern)):
        seed(target, path.name, path.read_bytes().hex())
        count += 1
print(f"{count} seeds from {VECTORS} and {FIXTURES} in {FUZZ / 'corpus'}")
