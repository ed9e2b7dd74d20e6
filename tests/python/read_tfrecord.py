#!/usr/bin/env python3
"""An independent TFRecord / tf.Example reader for the export tests (standard library only).

Reads a TFRecord file, checks each record's framing (u64 length, masked CRC-32C of the length,
data, masked CRC-32C of the data), decodes each tf.Example protobuf by hand, and prints one JSON
object per record: {feature name: {"bytes": [...]} | {"int64": [...]} | {"float": [...]}}.
Bytes are printed as UTF-8 text. Exits non-zero on any framing, CRC or protobuf error.
"""
import json
import struct
import sys


def _crc32c_table():
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """Yields (field number, wire type, value) of one message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("truncated field")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def feature(buf):
    for number, wire, value in fields(buf):
        if number == 1:  # BytesList
            return {"bytes": [v.decode("utf-8") for n, w, v in fields(value) if n == 1]}
        if number == 2:  # FloatList (packed or not)
            out = []
            for n, w, v in fields(value):
                if w == 2:
                    out.extend(struct.unpack("<%df" % (len(v) // 4), v))
                elif w == 5:
                    out.append(struct.unpack("<f", v)[0])
            return {"float": out}
        if number == 3:  # Int64List (packed or not)
            out = []
            for n, w, v in fields(value):
                if w == 2:
                    p = 0
                    while p < len(v):
                        x, p = varint(v, p)
                        out.append(signed64(x))
                elif w == 0:
                    out.append(signed64(v))
            return {"int64": out}
    return {}


def example(buf):
    out = {}
    for number, _, features in fields(buf):
        if number != 1:
            continue
        for n, _, entry in fields(features):
            if n != 1:
                continue
            key, val = None, b""
            for en, _, ev in fields(entry):
                if en == 1:
                    key = ev.decode("utf-8")
                elif en == 2:
                    val = ev
            out[key] = feature(val)
    return out


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            sys.exit("truncated header at byte %d" % pos)
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked(header) != length_crc:
            sys.exit("bad length CRC at byte %d" % pos)
        body = data[pos + 12:pos + 12 + length]
        if len(body) != length or pos + 16 + length > len(data):
            sys.exit("truncated record at byte %d" % pos)
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked(body) != data_crc:
            sys.exit("bad data CRC at byte %d" % pos)
        print(json.dumps(example(body), sort_keys=True))
        pos += 16 + length


if __name__ == "__main__":
    main(sys.argv[1])
