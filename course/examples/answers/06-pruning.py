"""Example class for 06-pruning (read by course/examples/build.py).

alice: every solution (8 / 8). bob: the released notebook untouched (0).
carol: the typical slips: the largest weights pruned, the density returned for the sparsity, the
column indices left out of the CSR size, conv2's input depth left as it was before pruning (0 / 8).
dave: partial credit: a magnitude threshold instead of an exact count (right without ties, wrong on
the edge cases), the sparsity right, rows instead of rows + 1 row pointers, the MACs right as a
rounded value (5 / 8).
erin: right throughout, written differently (np.where and lexsort, np.mean, a CSR size built from
the arrays themselves, the MACs as a string with commas) (8 / 8).
Right answers are written as formulas, like the solutions: no answer key is typed here.
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "largest weights pruned, density for sparsity, CSR without indices, conv2's input depth unchanged",
    "dave": "a threshold that breaks on ties and sparsity 0, one CSR slip, the rest right: partial credit",
    "erin": "right throughout, in other accepted forms",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "magnitude_prune": '''
def magnitude_prune(w, sparsity):
    k = round(sparsity * w.size)
    order = np.argsort(-np.abs(w).ravel(), kind="stable")  # largest first
    pruned = w.copy().ravel()
    pruned[order[:k]] = 0
    return pruned.reshape(w.shape)
''',
        "weight_sparsity": '''
def weight_sparsity(w):
    return np.count_nonzero(w) / w.size
''',
        "csr_bytes": '''
def csr_bytes(w):
    nnz = np.count_nonzero(w)
    return 4 * nnz + 4 * (w.shape[-1] + 1)
''',
        "answer_conv2_macs": '''
# pruning conv1 does not touch conv2
answer_conv2_macs = 24 * 24 * 5 * 3 * 3 * 5
''',
    },
    "dave": {
        "magnitude_prune": '''
def magnitude_prune(w, sparsity):
    k = round(sparsity * w.size)
    threshold = np.sort(np.abs(w).ravel())[k - 1]
    return np.where(np.abs(w) <= threshold, 0, w)
''',
        "weight_sparsity": '''
def weight_sparsity(w):
    return np.sum(w == 0) / w.size
''',
        "csr_bytes": '''
def csr_bytes(w):
    nnz = int(np.count_nonzero(w))
    return 8 * nnz + 4 * w.shape[-1]
''',
        "answer_conv2_macs": '''
answer_conv2_macs = f"{(28 - 4) * (28 - 4) * 5 * 3 * 3 * (5 - 2) / 1000:.1f}K"
''',
    },
    "erin": {
        "magnitude_prune": '''
def magnitude_prune(w, sparsity):
    flat = np.abs(w).ravel()
    order = np.lexsort((np.arange(flat.size), flat))  # by magnitude, then by position
    keep = np.ones(flat.size, dtype=bool)
    keep[order[: round(sparsity * w.size)]] = False
    return np.where(keep.reshape(w.shape), w, 0)
''',
        "weight_sparsity": '''
def weight_sparsity(w):
    return np.mean(w == 0)
''',
        "csr_bytes": '''
def csr_bytes(w):
    matrix = w.reshape(-1, w.shape[-1]).T
    values = matrix[matrix != 0].astype(np.float32)
    columns = np.nonzero(matrix)[1].astype(np.int32)
    row_pointers = np.zeros(matrix.shape[0] + 1, dtype=np.int32)
    return values.nbytes + columns.nbytes + row_pointers.nbytes
''',
        "answer_conv2_macs": '''
side = 28 - 2 * (3 - 1)
answer_conv2_macs = f"{side * side * 5 * 3 * 3 * (5 - 2):,}"
''',
    },
}
