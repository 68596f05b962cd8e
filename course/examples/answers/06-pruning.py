"""Example class for 06-pruning (read by course/examples/build.py).

alice: every solution, her own variant included (14 / 14). bob: the released notebook untouched (0).
carol: the typical slips: the largest weights pruned, the density returned for the sparsity, the
column indices left out of the CSR size, fc1's inputs left as they were before pruning, every
layer pruned at once in the sensitivity scan, the strongest filters removed; variant blank (0 / 14).
dave: partial credit: a magnitude threshold instead of an exact count (right without ties, wrong on
the edge cases), the sparsity right, rows instead of rows + 1 row pointers, the MACs right as a
rounded value, the scan right, the next layer's inputs left uncut; variant blank (7 / 14).
erin: right throughout, written differently (np.where and lexsort, np.mean, a CSR size built from
the arrays themselves, the MACs as a string with commas, a scan that prunes with its own numpy
mask, filters kept with np.delete); variant blank (12 / 14).
Right answers are written as formulas, like the solutions: no answer key is typed here.
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": ("largest weights pruned, density for sparsity, CSR without indices, conv2's input depth unchanged, "
              "every layer pruned at once in the scan, the strongest filters removed"),
    "dave": ("a threshold that breaks on ties and sparsity 0, one CSR slip, the next layer left uncut, the rest "
             "right: partial credit"),
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
        "answer_fc1_macs": '''
# pruning conv2 does not touch fc1
answer_fc1_macs = 24 * 24 * 5 * 128
''',
        "sensitivity_scan": '''
def sensitivity_scan(model, sparsities, x, y):
    # every layer pruned together: the model's curve, not each layer's
    scan = {}
    for layer in pruning.prunable_layers(model):
        scan[layer.name] = [accuracy(pruning.prune_magnitude(model.copy(), s), x, y) for s in sparsities]
    return scan
''',
        "prune_filters": '''
def prune_filters(W, b, W_next, n_remove):
    cout = W.shape[-1]
    l1 = np.abs(W).reshape(-1, cout).sum(axis=0)
    keep = np.sort(np.argsort(-l1, kind="stable")[n_remove:])  # the strongest removed
    if W_next.ndim == 4:
        return W[..., keep], b[keep], W_next[:, :, keep, :]
    units = W_next.shape[-1]
    return W[..., keep], b[keep], W_next.reshape(-1, cout, units)[:, keep, :].reshape(-1, units)
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
        "answer_fc1_macs": '''
answer_fc1_macs = f"{(28 - 4) * (28 - 4) * (5 - 3) * 128 / 1000:.1f}K"
''',
        "sensitivity_scan": '''
def sensitivity_scan(model, sparsities, x, y):
    scan = {}
    for layer in pruning.prunable_layers(model):
        scan[layer.name] = []
        for s in sparsities:
            copy = model.copy()
            pruning.prune_magnitude(copy, {layer.name: s})
            scan[layer.name].append(accuracy(copy, x, y))
    return scan
''',
        "prune_filters": '''
def prune_filters(W, b, W_next, n_remove):
    l1 = np.abs(W).sum(axis=(0, 1, 2))
    keep = np.sort(np.argsort(l1, kind="stable")[n_remove:])
    return W[..., keep], b[keep], W_next.copy()  # the next layer left as it was
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
        "answer_fc1_macs": '''
side = 28 - 2 * (3 - 1)
answer_fc1_macs = f"{side * side * (5 - 3) * 128:,}"
''',
        "sensitivity_scan": '''
def sensitivity_scan(model, sparsities, x, y):
    names = [layer.name for layer in model.layers if "W" in layer.params]
    result = {}
    for name in names:
        row = []
        for s in sparsities:
            copy = model.copy()
            w = copy.layer(name).params["W"]
            k = round(s * w.size)
            order = np.argsort(np.abs(w).ravel(), kind="stable")
            w.ravel()[order[:k]] = 0  # the layer's own magnitude mask, by hand
            row.append(float(np.mean(np.argmax(copy.predict(x), axis=1) == y)))
        result[name] = row
    return result
''',
        "prune_filters": '''
def prune_filters(W, b, W_next, n_remove):
    cout = W.shape[-1]
    norms = [np.abs(W[..., f]).sum() for f in range(cout)]
    weakest = sorted(range(cout), key=lambda f: (norms[f], f))[:n_remove]
    if W_next.ndim == 4:
        next_kept = np.delete(W_next, weakest, axis=2)
    else:
        units = W_next.shape[-1]
        next_kept = np.delete(W_next.reshape(-1, cout, units), weakest, axis=1).reshape(-1, units)
    return np.delete(W, weakest, axis=-1), np.delete(b, weakest), next_kept
''',
    },
}
