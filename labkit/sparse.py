"""Small array helpers shared by metrics, encoders and models."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def binary_csr(rows, cols, shape: tuple[int, int]) -> sp.csr_matrix:
    """(shape) canonical CSR with 1.0 at every (rows[i], cols[i]); repeated pairs count once."""
    m = sp.csr_matrix((np.ones(len(rows)), (np.asarray(rows), np.asarray(cols))), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def canonical_csr(m, dtype=np.float64) -> sp.csr_matrix:
    """A CSR copy with summed duplicates, sorted indices and no stored zeros."""
    csr = sp.csr_matrix(m, dtype=dtype, copy=True)  # a CSR input would otherwise share (and have changed) its arrays
    csr.sum_duplicates()  # also sorts each row's indices
    csr.eliminate_zeros()
    return csr


def unit_rows(m, dtype=np.float32) -> np.ndarray:
    """Rows of ``m`` scaled to unit L2 norm; all-zero rows stay zero."""
    m = np.asarray(m, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0).astype(dtype)


class EntryIndex:
    """The stored entries of a canonical CSR matrix as sorted (row, col) keys: where is (r, c)?"""

    def __init__(self, csr: sp.csr_matrix) -> None:
        self.n_cols = csr.shape[1]
        rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
        self.keys = rows * self.n_cols + csr.indices

    def positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Index into the matrix's ``data`` of each (rows[k], cols[k]); -1 where absent or cols < 0."""
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        wanted = rows * self.n_cols + cols
        if not len(self.keys):
            return np.full(wanted.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return np.where((self.keys[pos] == wanted) & (cols >= 0), pos, -1)


def lookup(csr: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, *, default: float = 0.0) -> np.ndarray:
    """Values ``csr[rows[k], cols[k]]`` for every k, by one binary search over (row, col) keys.

    csr must be canonical (:func:`canonical_csr`); rows and cols are int arrays of one shape; a
    negative col (padding) or an absent entry gives ``default``.
    """
    pos = EntryIndex(csr).positions(rows, cols)
    return np.where(pos >= 0, csr.data[np.maximum(pos, 0)] if csr.nnz else default, default).astype(np.float64)
