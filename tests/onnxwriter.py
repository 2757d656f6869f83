"""A minimal ONNX writer for tests: protobuf fields by hand, so tests can build tiny models
(stateful ones, wrong outputs, …) without the onnx package."""

from __future__ import annotations

__all__ = ["_varint", "_int", "_msg", "_value_info"]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(num: int, value: int) -> bytes:  # wire type 0
    return _varint(num << 3) + _varint(value)


def _msg(num: int, payload) -> bytes:  # wire type 2 (bytes, strings, sub-messages)
    payload = payload.encode() if isinstance(payload, str) else payload
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _value_info(name: str, dims) -> bytes:
    """A FLOAT tensor's ValueInfoProto; ``dims`` ints, or strings for symbolic dimensions."""
    shape = b"".join(_msg(1, _int(1, d) if isinstance(d, int) else _msg(2, d)) for d in dims)
    return _msg(1, name) + _msg(2, _msg(1, _int(1, 1) + _msg(2, shape)))  # elem_type FLOAT, shape
