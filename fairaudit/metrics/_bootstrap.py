"""The audit's bootstrap, in blocks of groups so that memory stays bounded.

Every replicate is one multinomial draw of all ``(group x cell)`` counts (see
:mod:`fairaudit.metrics._audit`). For a few groups the draw is one array of
``n_boot x groups x 4`` counts, as it always was. With many groups that array
and the rates computed from it would not fit in memory (1,000 replicates of
100,000 groups are 6.4 GB of rates), so the same multinomial is drawn a block
of groups at a time: the number of rows that fall in a block follows a
binomial given the rows not yet placed, and the block's cells a multinomial
given that number. The draw is exact; only its random stream differs. The
between-group statistics (largest gap, smallest ratio, disparate impact against
the reference) are accumulated per replicate, with the reference groups drawn in
the first block. (A single group's rates need no bootstrap: their Wilson
intervals come from the counts.)
"""

from __future__ import annotations

import numpy as np

from fairaudit.metrics._counts import METRICS, multinomial, percentile_interval, rates

__all__ = ["bootstrap_intervals", "BLOCK_VALUES"]

#: Most rate values (``replicates x groups x metrics``) one block holds: 64 MB of float64.
BLOCK_VALUES = 8_000_000


def _blocks(table, n_boot, rng, first, block_groups):
    """Yield ``(group positions, counts of shape (n_boot, groups, 4))`` covering every group."""
    n_groups = len(table)
    if block_groups >= n_groups:
        yield (
            np.arange(n_groups),
            multinomial(table.ravel(), n_boot, rng).reshape(n_boot, n_groups, 4),
        )
        return
    order = np.concatenate([first, np.setdiff1d(np.arange(n_groups), first)]).astype(np.int64)
    chunks = [order[i : i + block_groups] for i in range(0, n_groups, block_groups)]
    left = np.full(n_boot, int(table.sum()), dtype=np.int64)  # rows not yet placed, per replicate
    left_cells = int(table.sum())
    for k, idx in enumerate(chunks):
        sub = table[idx]
        size = int(sub.sum())
        if k == len(chunks) - 1:
            drawn = left
        elif left_cells > 0:
            drawn = rng.binomial(left, size / left_cells)
        else:
            drawn = np.zeros(n_boot, dtype=np.int64)
        left_cells -= size
        left = left - drawn
        if size > 0:
            counts = rng.multinomial(drawn, sub.ravel() / size)
        else:
            counts = np.zeros((n_boot, sub.size), dtype=np.int64)
        yield idx, counts.reshape(n_boot, len(idx), 4)


def _running(acc, values, seen, reduce, fill):
    """Fold ``values`` (B, g, M) into a per-replicate accumulator, skipping NaN."""
    valid = ~np.isnan(values)
    block = reduce(np.where(valid, values, fill), axis=1, initial=fill)
    return reduce(np.stack([acc, block]), axis=0), seen | valid.any(axis=1)


def bootstrap_intervals(
    table, n_boot, rng, ci, ref_pos, di_ref, fav_cols, left_out=None, blocks=None
):
    """Percentile intervals of the between-group statistics, from one bootstrap.

    Parameters
    ----------
    table : numpy.ndarray of shape (groups, 4)
        Confusion counts ``tp, fp, fn, tn`` per group.
    n_boot : int
    rng : numpy.random.Generator
    ci : float
    ref_pos : int or None
        Reference group of differences and ratios (None: extreme groups).
    di_ref : int or None
        Reference group of the disparate impact.
    fav_cols : list of int
        The count columns that are favourable outcomes.
    left_out : numpy.ndarray of bool, shape (groups, metrics), optional
        Rates kept out of the gaps and ratios in every replicate, as they are
        kept out of the point estimates.
    blocks : iterable, optional
        ``(group positions, counts)`` pairs to aggregate instead of drawing
        (the reference groups in the first); for tests.

    Returns
    -------
    dict
        ``difference`` and ``ratio`` (2, metrics), ``disparate_impact`` (2,
        groups; NaN for the reference).
    """
    n_groups, n_metrics = len(table), len(METRICS)
    first = np.array([p for p in dict.fromkeys((ref_pos, di_ref)) if p is not None], np.int64)
    if blocks is None:
        per_group = max(1, n_boot * n_metrics)
        blocks = _blocks(table, n_boot, rng, first, max(len(first), BLOCK_VALUES // per_group, 1))
    di_ci = np.full((2, n_groups), np.nan)
    high = np.full((n_boot, n_metrics), -np.inf)
    low = np.full((n_boot, n_metrics), np.inf)
    high_seen = np.zeros((n_boot, n_metrics), dtype=bool)
    low_seen = np.zeros((n_boot, n_metrics), dtype=bool)
    ref_rates = ref_fav = None
    for idx, counts in blocks:
        values = rates(counts)  # (B, g, M)
        if left_out is not None:
            values = np.where(left_out[idx][None], np.nan, values)
        with np.errstate(divide="ignore", invalid="ignore"):
            fav_rate = counts[:, :, fav_cols].sum(axis=2) / counts.sum(axis=2)
        where = {int(g): j for j, g in enumerate(idx)}
        if ref_pos is not None and ref_rates is None:
            ref_rates = values[:, where[ref_pos]]
        if di_ref is not None and ref_fav is None:
            ref_fav = fav_rate[:, where[di_ref]]
        if ref_pos is None:  # Fairlearn's between_groups: max - min and min / max
            high, high_seen = _running(high, values, high_seen, np.max, -np.inf)
            low, low_seen = _running(low, values, low_seen, np.min, np.inf)
        else:  # against the reference: largest absolute gap, smallest two-way ratio
            others = values[:, idx != ref_pos]
            with np.errstate(divide="ignore", invalid="ignore"):
                gaps = np.abs(others - ref_rates[:, None, :])
                quotient = others / ref_rates[:, None, :]
                ratios = np.where(quotient > 1, 1 / quotient, quotient)
            high, high_seen = _running(high, gaps, high_seen, np.max, -np.inf)
            low, low_seen = _running(low, ratios, low_seen, np.min, np.inf)
        if di_ref is not None:
            keep = idx != di_ref
            with np.errstate(divide="ignore", invalid="ignore"):
                di = fav_rate[:, keep] / ref_fav[:, None]
            di_ci[:, idx[keep]] = percentile_interval(di, ci)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ref_pos is None:
            seen = high_seen  # a metric defined for some group has both a max and a min
            diff = np.where(seen, high - low, np.nan)
            ratio = np.where(seen, low / high, np.nan)
        else:
            diff = np.where(high_seen, high, np.nan)
            ratio = np.where(low_seen, low, np.nan)
    return {
        "difference": percentile_interval(diff, ci),
        "ratio": percentile_interval(ratio, ci),
        "disparate_impact": di_ci,
    }
