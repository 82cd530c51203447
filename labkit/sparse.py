"""Small sparse-matrix helpers shared by metrics and models."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def canonical_csr(m, dtype=np.float64) -> sp.csr_matrix:
    """A CSR copy with summed duplicates, sorted indices and no stored zeros."""
    csr = sp.csr_matrix(m, dtype=dtype)
    csr.sum_duplicates()  # also sorts each row's indices
    csr.eliminate_zeros()
    return csr


def lookup(csr: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, *, default: float = 0.0) -> np.ndarray:
    """Values ``csr[rows[k], cols[k]]`` for every k, by one binary search over (row, col) keys.

    csr must be canonical (:func:`canonical_csr`); rows and cols are int arrays of one shape; a
    negative col (padding) or an absent entry gives ``default``.
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    n_cols = csr.shape[1]
    entry_rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    keys = entry_rows * n_cols + csr.indices
    wanted = rows * n_cols + cols
    out = np.full(wanted.shape, default, dtype=np.float64)
    if len(keys):
        pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        found = (keys[pos] == wanted) & (cols >= 0)
        out[found] = csr.data[pos[found]]
    return out
