"""The float32 initializers of an ONNX model, read with the standard library alone.

The peers take NeuralStyle's weights from its exported forward.onnx. The onnx package would read them, but a GPU
machine with PyTorch and no network need not have it, so this reads the few protobuf fields involved directly:
ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto dims (1), data_type (2), float_data (4),
name (8), raw_data (9). Tensors stored outside the file (external_data) are refused, as are other element types.
"""
import struct

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_FLOAT = 1  # TensorProto.DataType.FLOAT


def _varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data):
    """(field number, wire type, value) of each field of one message; a length-delimited value is a memoryview."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, at = _varint(data, at)
        elif wire == _FIXED64:
            value, at = data[at:at + 8], at + 8
        elif wire == _LENGTH:
            length, at = _varint(data, at)
            value, at = data[at:at + length], at + length
        elif wire == _FIXED32:
            value, at = data[at:at + 4], at + 4
        else:
            raise ValueError(f"protobuf wire type {wire} (field {number}) is not one this reader knows")
        yield number, wire, value


def _tensor(message):
    dims, data_type, name, raw, floats = [], None, None, None, []
    for number, wire, value in _fields(message):
        if number == 1:  # dims: int64, packed or one by one
            if wire == _LENGTH:
                at = 0
                while at < len(value):
                    dim, at = _varint(value, at)
                    dims.append(dim)
            else:
                dims.append(value)
        elif number == 2:
            data_type = value
        elif number == 4:  # float_data: packed floats, or one fixed32 each
            floats.extend(struct.unpack(f"<{len(value) // 4}f", value))
        elif number == 8:
            name = bytes(value).decode("utf-8")
        elif number == 9:
            raw = bytes(value)
        elif number == 13:
            raise ValueError(f"initializer {name or '?'} is stored outside the model file; export it embedded")
    if data_type != _FLOAT:
        raise ValueError(f"initializer {name} has ONNX element type {data_type}; only float32 (1) is read")
    data = raw if raw is not None else struct.pack(f"<{len(floats)}f", *floats)
    count = 1
    for dim in dims:
        count *= dim
    if len(data) != 4 * count:
        raise ValueError(f"initializer {name}: {len(data)} bytes for dims {dims}")
    return name, dims, data


def read_initializers(path):
    """{name: (dims, little-endian float32 bytes)} of the model's graph initializers."""
    with open(path, "rb") as f:
        model = memoryview(f.read())
    graph = next((value for number, _, value in _fields(model) if number == 7), None)
    if graph is None:
        raise ValueError(f"{path} holds no graph")
    tensors = {}
    for number, _, value in _fields(graph):
        if number == 5:
            name, dims, data = _tensor(value)
            tensors[name] = (dims, data)
    return tensors
