"""Writers for the oracle fixture files (tests/oracle/README.md): .npy, safetensors, case.json.

Only what the fixtures need: little-endian float32 (safetensors F32) and int64/int32 (I64/I32)
arrays in C order. Standard library and numpy only.
"""

import json
import os
import shutil
import struct

import numpy as np

_SAFETENSORS_DTYPES = {
    np.dtype('float32'): 'F32',
    np.dtype('int64'): 'I64',
    np.dtype('int32'): 'I32',
}


def _little_endian(array):
    a = np.asarray(array)
    if a.dtype not in _SAFETENSORS_DTYPES:
        raise ValueError(f'fixture_writer: unsupported dtype {a.dtype}')
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder('<'))


def write_npy(path, array):
    """Writes a float32 or int64 array as .npy (little-endian, C order)."""
    np.save(path, _little_endian(array), allow_pickle=False)


def safetensors_bytes(tensors, metadata=None):
    """tensors: {name: numpy array}; metadata: {str: str}. Tensors are stored in name order,
    back to back; the JSON header is padded with spaces to a multiple of 8 bytes."""
    header = {}
    if metadata is not None:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f'fixture_writer: metadata {key!r} must map a string to a string')
        header['__metadata__'] = dict(metadata)
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = _little_endian(tensors[name])
        data = a.tobytes(order='C')
        header[name] = {
            'dtype': _SAFETENSORS_DTYPES[np.dtype(a.dtype.newbyteorder('='))],
            'shape': [int(d) for d in a.shape],
            'data_offsets': [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def write_safetensors(path, tensors, metadata=None):
    with open(path, 'wb') as f:
        f.write(safetensors_bytes(tensors, metadata))


def prepare_case_dir(out_dir, name):
    """Creates <out_dir>/<name>/ afresh (removing what a previous run left there)."""
    path = os.path.join(out_dir, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def remove_stale_cases(out_dir, oracle, keep):
    """Removes case folders of this oracle that are no longer generated (renamed cases)."""
    if not os.path.isdir(out_dir):
        return
    for entry in os.listdir(out_dir):
        meta = os.path.join(out_dir, entry, 'case.json')
        if entry in keep or not os.path.isfile(meta):
            continue
        try:
            with open(meta, encoding='utf-8') as f:
                stale = json.load(f).get('oracle') == oracle
        except (OSError, ValueError):
            stale = False
        if stale:
            shutil.rmtree(os.path.join(out_dir, entry))


def write_case_json(case_dir, info):
    with open(os.path.join(case_dir, 'case.json'), 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=2)
        f.write('\n')
