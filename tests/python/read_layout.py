#!/usr/bin/env python3
"""Reads a pipeline-layout export (a tar of one folder per split) with independent readers:
tarfile and gzip from the standard library, the standard-library TFRecord reader next to this
file for `.gz` TFRecord shards, pyarrow for Parquet, json for JSON Lines.

Prints one JSON line per archive member, in archive order:
{"file": name, "rows": [...]} for data files, {"file": name, "text": ...} for the others.
Exits non-zero on any framing, CRC, gzip or Parquet error.
"""
import gzip
import io
import json
import os
import struct
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_tfrecord  # noqa: E402


def tfrecords(data):
    rows, pos = [], 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if read_tfrecord.masked(header) != length_crc:
            sys.exit("bad length CRC")
        body = data[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if read_tfrecord.masked(body) != data_crc:
            sys.exit("bad data CRC")
        rows.append(read_tfrecord.example(body))
        pos += 16 + length
    return rows


with tarfile.open(sys.argv[1]) as tar:
    for member in tar.getmembers():
        data = tar.extractfile(member).read()
        name = member.name
        if name.endswith(".gz"):
            out = {"file": name, "rows": tfrecords(gzip.decompress(data))}
        elif name.endswith(".parquet"):
            import pyarrow.parquet as pq

            out = {"file": name, "rows": pq.read_table(io.BytesIO(data)).to_pylist()}
        elif name.endswith(".jsonl"):
            out = {"file": name, "rows": [json.loads(line) for line in data.decode().splitlines()]}
        else:
            out = {"file": name, "text": data.decode()}
        print(json.dumps(out, sort_keys=True, default=str))
