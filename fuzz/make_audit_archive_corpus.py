#!/usr/bin/env python3
"""Writes the seed corpus of the audit_archive fuzz target (fuzz/corpus/audit_archive/).

The files are built here from the byte layout in docs/audit.md ("Archive file format") with
Python's own zlib and hashlib, independently of the C++ encoder, so the corpus also shows that
the documented layout is what the reader accepts (test/audit/archive_file_test.cc decodes
valid_from_zero.wkar). Files whose last 32 bytes are zero get a real digest from the fuzz target
before decoding, so that mutations of them reach the payload parser.

    python3 fuzz/make_audit_archive_corpus.py fuzz/corpus/audit_archive
"""
import hashlib
import os
import struct
import sys
import zlib


def canonical(index, previous, texts, key_version=None, policy_version=None):
    out = b"WKA1" + struct.pack(">QqI", index, 1780000000000 + index, 200) + previous
    for text in texts:
        data = text.encode()
        out += struct.pack(">I", len(data)) + data
    out += b"\x00" if key_version is None else b"\x01" + struct.pack(">I", key_version)
    out += b"\x00" if policy_version is None else b"\x01" + struct.pack(">Q", policy_version)
    return out


def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(root(leaves[:split]), root(leaves[split:]))


def compact_range(leaves):
    out = []
    while leaves:
        size = 1 << (len(leaves).bit_length() - 1)
        out.append(root(leaves[:size]))
        leaves = leaves[size:]
    return out


def archive(first, end, entries, previous, hashes, checkpoints, zero_digest=False, version=1):
    payload = previous + struct.pack(">I", len(hashes)) + b"".join(hashes)
    payload += struct.pack(">I", len(checkpoints))
    for size, tree_root, time_ms, kid, signature in checkpoints:
        payload += struct.pack(">Q", size) + tree_root + struct.pack(">q", time_ms)
        payload += struct.pack(">H", len(kid)) + kid + struct.pack(">H", len(signature)) + signature
    for data, leaf_hash in entries:
        payload += struct.pack(">I", len(data)) + data + leaf_hash
    compressed = zlib.compress(payload)
    header = b"WKAUDARC" + struct.pack(">HBBQQqQQ", version, 1, 0, first, end, 1780000000999,
                                       len(payload), len(compressed))
    body = header + compressed
    return body + (b"\x00" * 32 if zero_digest else hashlib.sha256(body).digest())


def main(directory):
    def texts(n):
        return ["req-%d" % n, "spiffe://weftkit.dev/engine/orders", "mtls", "10.0.0.1:443",
                "dek.unwrap", "key/orders", "orders", "allow", "allow role=engine", "success", ""]

    entries, leaves, previous = [], [], b"\x00" * 32
    for i in range(3):
        data = canonical(i, previous, texts(i), key_version=i + 1 if i % 2 else None,
                         policy_version=7 if i == 2 else None)
        previous = leaf(data)
        entries.append((data, previous))
        leaves.append(previous)
    checkpoint = (3, root(leaves), 1780000000500, b"kid-thumbprint", b"\x5a" * 64)
    zero = b"\x00" * 32
    files = {
        "valid_from_zero.wkar": archive(0, 3, entries, zero, compact_range(leaves), [checkpoint]),
        "valid_tail_zero_digest.wkar": archive(1, 3, entries[1:], leaves[0], compact_range(leaves),
                                               [checkpoint], zero_digest=True),
        "valid_no_checkpoint_zero_digest.wkar": archive(0, 1, entries[:1], zero,
                                                        compact_range(leaves[:1]), [],
                                                        zero_digest=True),
        "broken_link_zero_digest.wkar": archive(1, 3, entries[1:], b"\x11" * 32,
                                                compact_range(leaves), [checkpoint],
                                                zero_digest=True),
        "version_two.wkar": archive(0, 3, entries, zero, compact_range(leaves), [checkpoint],
                                    version=2),
        "empty.bin": b"",
        "magic_only.bin": b"WKAUDARC",
        "canonical_entry.bin": entries[2][0],
        "canonical_entry_zero.bin": entries[0][0],
    }
    valid = files["valid_from_zero.wkar"]
    files["truncated.wkar"] = valid[: len(valid) // 2]
    files["trailing_byte.wkar"] = valid + b"\x00"
    bomb = bytearray(valid)
    bomb[36:44] = struct.pack(">Q", 1 << 40)
    files["huge_payload_length.wkar"] = bytes(bomb)
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/audit_archive")
