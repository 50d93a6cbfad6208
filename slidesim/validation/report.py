"""Reports of validation runs: a text table, Markdown, JSON and a plot of model vs DFT."""

import numpy as np


def _row(check):
    tolerance = (f"<= {check.reference:.4g}" if check.kind == "max" else
                 "must hold" if check.kind == "sanity" else
                 "no reference" if check.kind == "info" else f"+- {check.tolerance:.4g}")
    result = "info" if check.kind == "info" else "ok" if check.passed else "FAIL"
    return [check.name, f"{check.model:.4f}",
            "-" if check.kind == "info" else f"{check.reference:.4f}",
            f"{check.difference:+.4f}" if check.kind == "abs" else "", tolerance, check.unit,
            result]


def _sources(evaluation):
    """Lines "source of CHECK: ..." for the checks whose suite section names a source."""
    return [f"source of {c.name}: {c.source}" for c in evaluation.checks if c.source]


HEADER = ["check", "model", "DFT", "model - DFT", "tolerance", "unit", "result"]


def format_table(evaluation):
    """Plain-text table of an Evaluation's checks, with a verdict line."""
    rows = [HEADER] + [_row(c) for c in evaluation.checks]
    widths = [max(len(r[k]) for r in rows) for k in range(len(HEADER))]
    lines = [f"model {evaluation.model} on suite {evaluation.suite} "
             f"(a = {evaluation.lattice:.4f} A)"]
    for r in rows:
        lines.append("  ".join(w.ljust(n) if k == 0 else w.rjust(n)
                               for k, (w, n) in enumerate(zip(r, widths))))
    lines.extend(_sources(evaluation))
    failures = evaluation.failures()
    lines.append("PASSED" if not failures else
                 f"FAILED: {len(failures)} of {len(evaluation.checks)} checks out of tolerance: "
                 + "; ".join(f"{c.name} = {c.model:.4g} {c.unit}" for c in failures))
    return "\n".join(lines)


def markdown_table(evaluation):
    """Markdown table of the checks."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_row(c)) + " |" for c in evaluation.checks]
    sources = _sources(evaluation)
    if sources:
        lines += [""] + [f"- {line}" for line in sources]
    return "\n".join(lines)


def write_markdown(evaluation, path, plot=None):
    with open(path, "w") as handle:
        handle.write(f"# Validation of {evaluation.model} against {evaluation.suite}\n\n")
        handle.write(f"Lattice a = {evaluation.lattice:.4f} A; rigid flat layers, interlayer "
                     "distance relaxed at every sliding vector.\n\n")
        handle.write(markdown_table(evaluation) + "\n\n")
        handle.write(("**PASSED**" if evaluation.passed else "**FAILED**") + "\n")
        if plot:
            handle.write(f"\n![profiles]({plot})\n")


def write_json(evaluation, path):
    with open(path, "w") as handle:
        handle.write(evaluation.to_json())


def plot_profiles(evaluations, path):
    """Energy, P_par and P_perp along BA -> SP -> AB of one or more Evaluations, with the
    suite's reference path (dashed black), against t / |t_BA| (BA = -1, SP = 0, AB = +1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("energy_meV", "E - E(BA) [meV/cell]"), ("P_par", "P_par [pC/m]"),
              ("P_perp", "P_perp [pC/m]")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    reference_drawn = False
    for k, evaluation in enumerate(evaluations):
        profile = evaluation.profile
        t_ba = np.sqrt(3.0) * evaluation.lattice / 6.0
        x = np.asarray(profile["t_from_SP_A"]) / t_ba
        for ax, (key, label) in zip(axes, panels):
            if key in profile:
                ax.plot(x, profile[key], "o-", ms=3, color=f"C{k}", label=evaluation.model)
            ax.set_ylabel(label)
            ax.set_xlabel("t / |t_BA|  (BA -1, SP 0, AB +1)")
        reference = profile.get("reference")
        if reference and not reference_drawn:
            xr = np.asarray(reference["t_from_SP_A"]) / (np.sqrt(3.0) * reference["lattice_A"] / 6)
            for ax, (key, _) in zip(axes, panels):
                if key in reference:
                    ax.plot(xr, reference[key], "k--", label=f"DFT ({evaluation.suite})")
            reference_drawn = True
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
