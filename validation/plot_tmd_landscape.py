"""The sliding landscapes of h-BN (bn-dft) and 3R MoS2 (mos2-ilp) side by side (docs/tmd.md).

    python validation/plot_tmd_landscape.py [--output docs/images/landscape_bn_mos2.png]

Each panel is the hexagon of sliding vectors around the polar stacking at t = (b - a)/3 (h-BN's
BA, MoS2's XM) that ``slidesim landscape`` draws: energy of the rigid, distance-relaxed bilayer
(grey), in-plane polarization (arrows) coloured by P_perp. Both stackings have P_perp > 0; at the
saddle points the in-plane arrows of MoS2 point the other way (the seed paper's Fig. S6).
"""

import argparse
import os
import sys

from slidesim.landscape import Landscape, draw_hexagon, set_relative_energies

PANELS = (("BN", "bn-dft", "h-BN (bn-dft)"), ("MoS2", "mos2-ilp", "3R MoS2 (mos2-ilp)"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join("docs", "images",
                                                         "landscape_bn_mos2.png"))
    parser.add_argument("--divisions", type=int, default=4)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.8))
    for ax, (material, model, title) in zip(axes, PANELS):
        scan = Landscape(material, model)
        points = scan.hexagon(args.divisions)
        set_relative_energies(points)
        draw_hexagon(fig, ax, points, scan.names, scan.lattice, title)
        print(f"{title}: {len(points)} points, energy up to "
              f"{max(p.relative_meV for p in points):.2f} meV/cell")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
