"""Per-stage statistics of a temperature ladder, its heating and cooling branches, and T_C.

Stages are the trajectory's ``stage`` index (else runs of equal ``temperature_target``, else
the whole file). A stage is on the *heating* branch when its target temperature is above the
previous stage's, on the *cooling* branch when below, and on the previous stage's branch when
equal; leading stages take the first branch that follows (the 1 K start of a ladder is heating).

Statistics of a series x over a stage's frames: mean, standard deviation (ddof = 1) and the
standard error from batch means (the frames cut into min(n, 10) contiguous blocks; se = sd of
the block means / sqrt(blocks)), which accounts for the correlation of successive frames better
than sd / sqrt(n).

T_C (see docs/analysis.md): the order of a stage is m = |<Im psi>| / (sqrt(3)/2) for the paper's
G = a* - b* (1 in BA or AB, 0 when the stage is evenly split). On each branch, T_C is where m
first falls below ``threshold`` (0.5) going up in temperature: linear interpolation between the
highest ordered stage below the lowest disordered one and that disordered one. The estimate is
the mean of the branch values; its uncertainty combines half the temperature spacing and half
the heating-cooling hysteresis in quadrature.
"""

import numpy as np

from slidesim.analysis.order import IM_PSI_BA, PAPER_G

#: number of batches for the standard error
N_BATCHES = 10
#: T_C threshold on the order m = |<Im psi>| / (sqrt(3)/2)
ORDER_THRESHOLD = 0.5


def batch_statistics(values):
    """(mean, sd, se) of a 1-D series; se from min(n, 10) contiguous batch means (NaN if n < 2)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if n < 2:
        return mean, np.nan, np.nan
    batches = np.array([chunk.mean() for chunk in np.array_split(values, min(n, N_BATCHES))])
    return mean, float(values.std(ddof=1)), float(batches.std(ddof=1) / np.sqrt(len(batches)))


def stage_segments(series):
    """List of (stage label, frame indices) in time order, from the stage index, else from runs
    of equal target temperature, else one segment."""
    n = series.n_frames
    if series.stage is not None:
        keys = series.stage
    elif series.temperature_target is not None:
        keys = series.temperature_target
    else:
        return [(0, np.arange(n))]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    stops = np.r_[starts[1:], n]
    labels = np.arange(len(starts)) if series.stage is None else keys[starts]
    return [(int(label), np.arange(a, b)) for label, a, b in zip(labels, starts, stops)]


def assign_branches(temperatures, tolerance=1e-6):
    """'heating', 'cooling' (or 'constant' if the temperature never changes) per stage."""
    labels, current = [], None
    for k, temperature in enumerate(temperatures):
        if k > 0 and np.isfinite(temperature) and np.isfinite(temperatures[k - 1]):
            change = temperature - temperatures[k - 1]
            if change > tolerance:
                current = "heating"
            elif change < -tolerance:
                current = "cooling"
        labels.append(current)
    first = next((label for label in labels if label is not None), "constant")
    return [first if label is None else label for label in labels]


def stage_table(series, reciprocals, psi, crossings=(), discard=0.0):
    """Per-stage statistics, one dict per stage, in time order.

    series: :class:`~slidesim.analysis.reader.FrameSeries`; reciprocals: list of
    :class:`~slidesim.analysis.order.ReciprocalVector`; psi: dict G name -> (F,) complex;
    crossings: :class:`~slidesim.analysis.switching.Crossing` list, counted per stage;
    discard: fraction of each stage's first frames left out (equilibration).
    Keys: stage, branch, temperature_target_K, temperature_K, n_frames, time_start_ps,
    time_end_ps, n_crossings, then for every G ``psi[G]_re_{mean,sd,se}``,
    ``psi[G]_im_{mean,sd,se}``, ``psi[G]_abs_of_mean`` (|<psi>|) with ``_se``, and
    ``t_x_A``, ``t_y_A``, ``t_f1``, ``t_f2`` each ``_{mean,sd,se}``.
    """
    if not 0.0 <= discard < 1.0:
        raise ValueError(f"discard must be a fraction in [0, 1), got {discard}")
    crossing_frames = np.array([c.frame for c in crossings], dtype=np.int64)
    fractional = series.fractional
    rows = []
    for label, frames in stage_segments(series):
        kept = frames[int(np.floor(discard * len(frames))):]
        row = {"stage": label, "branch": None,
               "temperature_target_K": _mean_or_nan(series.temperature_target, kept),
               "temperature_K": _mean_or_nan(series.temperature, kept),
               "n_frames": int(len(kept)),
               "time_start_ps": float(series.time[frames[0]]),
               "time_end_ps": float(series.time[frames[-1]]),
               "n_crossings": int(np.count_nonzero((crossing_frames >= frames[0])
                                                   & (crossing_frames <= frames[-1])))}
        for g in reciprocals:
            values = psi[g.name][kept]
            re = batch_statistics(values.real)
            im = batch_statistics(values.imag)
            for part, stats in (("re", re), ("im", im)):
                for what, value in zip(("mean", "sd", "se"), stats):
                    row[f"psi[{g.name}]_{part}_{what}"] = value
            modulus = float(np.hypot(re[0], im[0]))
            row[f"psi[{g.name}]_abs_of_mean"] = modulus
            row[f"psi[{g.name}]_abs_of_mean_se"] = (
                float(np.hypot(re[0] * re[2], im[0] * im[2]) / modulus) if modulus > 0 else np.nan)
        for name, values in (("t_x_A", series.sliding[kept, 0]), ("t_y_A", series.sliding[kept, 1]),
                             ("t_f1", fractional[kept, 0]), ("t_f2", fractional[kept, 1])):
            for what, value in zip(("mean", "sd", "se"), batch_statistics(values)):
                row[f"{name}_{what}"] = value
        rows.append(row)
    temperatures = [row["temperature_target_K"] for row in rows]
    for row, branch in zip(rows, assign_branches(temperatures)):
        row["branch"] = branch
    return rows


def _mean_or_nan(values, frames):
    if values is None or len(frames) == 0:
        return float("nan")
    return float(np.mean(values[frames]))


def branch_transition(temperatures, order, threshold=ORDER_THRESHOLD):
    """T_C [K] of one branch, or None, and a note.

    temperatures (S,) [K] and order m (S,) of the branch's stages. T_C interpolates linearly
    between the lowest stage with m < threshold and the next lower stage.
    """
    temperatures = np.asarray(temperatures, dtype=np.float64)
    order = np.asarray(order, dtype=np.float64)
    valid = np.isfinite(temperatures) & np.isfinite(order)
    temperatures, order = temperatures[valid], order[valid]
    if len(temperatures) == 0:
        return None, "no stages"
    sort = np.argsort(temperatures, kind="stable")
    temperatures, order = temperatures[sort], order[sort]
    disordered = np.flatnonzero(order < threshold)
    if len(disordered) == 0:
        return None, f"ordered up to {temperatures[-1]:g} K: T_C is above the ladder"
    j = disordered[0]
    if j == 0:
        return None, f"disordered already at {temperatures[0]:g} K: T_C is below the ladder"
    t_low, t_high, m_low, m_high = temperatures[j - 1], temperatures[j], order[j - 1], order[j]
    weight = (m_low - threshold) / (m_low - m_high) if m_low != m_high else 1.0
    return float(t_low + weight * (t_high - t_low)), "interpolated"


def curie_temperature(stages, threshold=ORDER_THRESHOLD):
    """T_C from the per-stage rows of :func:`stage_table` (which must include G = a* - b*).

    Returns a dict: method, threshold, heating_K, cooling_K (None where the branch does not
    cross), estimate_K, uncertainty_K, spacing_K, hysteresis_K, notes, and
    first_switch_heating_K (the lowest heating temperature with a BA <-> AB crossing).
    """
    key = f"psi[{PAPER_G.name}]_im_mean"
    result = {"method": "order m = |<Im psi[a*-b*]>|/(sqrt(3)/2) per stage; on each branch T_C "
                        f"is where m first drops below {threshold} going up in temperature "
                        "(linear interpolation); estimate = mean of the branches; uncertainty = "
                        "half the temperature spacing and half the hysteresis in quadrature",
              "threshold": threshold, "notes": {}}
    spacings, values = [], {}
    for branch in ("heating", "cooling"):
        rows = [row for row in stages if row["branch"] == branch]
        temperatures = np.array([row["temperature_target_K"] for row in rows])
        order = np.array([abs(row[key]) / IM_PSI_BA for row in rows])
        value, note = branch_transition(temperatures, order, threshold)
        values[branch] = value
        result[f"{branch}_K"] = value
        result["notes"][branch] = note
        unique = np.unique(temperatures[np.isfinite(temperatures)])
        if len(unique) > 1:
            spacings.append(float(np.median(np.diff(unique))))
    spacing = min(spacings) if spacings else float("nan")
    found = [v for v in values.values() if v is not None]
    hysteresis = abs(values["heating"] - values["cooling"]) if len(found) == 2 else float("nan")
    result["spacing_K"] = spacing
    result["hysteresis_K"] = hysteresis
    if found:
        result["estimate_K"] = float(np.mean(found))
        half_hysteresis = 0.0 if np.isnan(hysteresis) else hysteresis / 2.0
        result["uncertainty_K"] = float(np.hypot(spacing / 2.0, half_hysteresis))
    else:
        result["estimate_K"] = None
        result["uncertainty_K"] = None
    switching = [row["temperature_target_K"] for row in stages
                 if row["branch"] == "heating" and row["n_crossings"] > 0]
    result["first_switch_heating_K"] = float(min(switching)) if switching else None
    return result
