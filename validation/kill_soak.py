"""Kill-and-restart soak: runs killed at random moments (and on a full disk) must leave readable
outputs and continue, by --restart, to exactly the run that was never interrupted.

    python validation/kill_soak.py --out /tmp/soak --trials 40 --disk-full 10
    python validation/kill_soak.py --out /tmp/soak --trials 2 --disk-full 1     # a quick check

Each trial runs a small deck (4 x 4 h-BN bilayer, 64 atoms, Nose-Hoover, trajectory with
velocities every 5 steps) with ``slidesim run`` in a subprocess and:
- *kill* trials send SIGKILL, SIGTERM or SIGINT after a random delay; half of them write a
  checkpoint every step, so that kills land during checkpoint rotation;
- *disk-full* trials put the output folder on a tmpfs of random size (needs root and
  ``mount``; skipped otherwise) so the run stops with "No space left on device", then enlarge
  the tmpfs (as a user frees space).
Then: the trajectory must open with netCDF4 and ASE, the checkpoint with slidesim, and
``--restart`` (repeated until the run ends, as a job script would) must end with trajectory
frames and thermo rows identical to the uninterrupted reference run. The counts go to
``OUT/summary.json`` and are printed.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

DECK = """\
system bilayer material BN cells 4 4 stacking BA
timestep 1 fs
integrator nose-hoover tdamp 50 fs
seed 7
output {output}
thermo every 5
trajectory every 5 velocities yes
checkpoint every {checkpoint_every}
stage warm temperature 300 K steps 5000
stage hot temperature 300 to 600 K steps 5000
"""


def slidesim(args, **kwargs):
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "slidesim.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def write_deck(folder, output, checkpoint_every):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "soak.in")
    with open(path, "w") as handle:
        handle.write(DECK.format(output=output, checkpoint_every=checkpoint_every))
    return path


def frames(path):
    import netCDF4

    with netCDF4.Dataset(path) as data:
        data.set_auto_mask(False)
        return {name: np.array(data.variables[name][:]) for name in
                ("coordinates", "velocities", "time", "step")}


def readable(output):
    """Whether every output opens: netCDF4 and ASE (trajectory), slidesim (checkpoint)."""
    problems = []
    traj = os.path.join(output, "traj.nc")
    if os.path.exists(traj):
        try:
            frames(traj)
            import ase.io

            ase.io.read(traj, ":")
        except Exception as err:  # noqa: BLE001 - any failure to read is what we count
            problems.append(f"traj.nc: {err}")
    checkpoint = os.path.join(output, "checkpoint.npz")
    if os.path.exists(checkpoint):
        try:
            from slidesim.io.checkpoint import read_checkpoint

            read_checkpoint(checkpoint)
        except Exception as err:  # noqa: BLE001
            problems.append(f"checkpoint.npz: {err}")
    return problems


def finish(deck, output, tries=5):
    """--restart until the run ends (a fresh start when no checkpoint was written)."""
    for _ in range(tries):
        checkpoint = os.path.join(output, "checkpoint.npz")
        args = ["run", deck] + (["--restart", checkpoint] if os.path.exists(checkpoint)
                                else ["--overwrite"])
        process = slidesim(args)
        out, err = process.communicate(timeout=600)
        if process.returncode == 0:
            return None
        if "end of the schedule" in err:
            return None
        last = err.strip().splitlines()[-1] if err.strip() else f"exit {process.returncode}"
        if "Traceback" in err:
            return f"traceback on restart: {last}"
    return f"did not finish after {tries} restarts: {last}"


def same_as_reference(output, reference):
    got, want = frames(os.path.join(output, "traj.nc")), frames(os.path.join(reference, "traj.nc"))
    for name in want:
        if got[name].shape != want[name].shape or not np.array_equal(got[name], want[name]):
            return f"trajectory {name} differs from the uninterrupted run"
    with open(os.path.join(output, "thermo.csv")) as a, \
            open(os.path.join(reference, "thermo.csv")) as b:
        if a.read() != b.read():
            return "thermo.csv differs from the uninterrupted run"
    return None


def kill_trial(root, k, reference, rng):
    folder = os.path.join(root, f"kill_{k:03d}")
    shutil.rmtree(folder, ignore_errors=True)
    rotation = k % 2 == 1
    deck = write_deck(folder, "out", 1 if rotation else 200)
    output = os.path.join(folder, "out")
    sig = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
    process = slidesim(["run", deck], cwd=folder)
    # kill while it runs: once its first thermo rows are out, after a random delay
    started = time.time()
    while not os.path.exists(os.path.join(output, "thermo.csv")) and time.time() - started < 120:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 2.0))
    running = process.poll() is None
    process.send_signal(sig)
    _, err = process.communicate(timeout=600)
    record = {"trial": k, "signal": signal.Signals(sig).name, "rotation": rotation,
              "killed_while_running": running, "exit": process.returncode,
              "traceback": "Traceback" in err}
    record["unreadable"] = readable(output)
    os.chdir(folder)
    record["restart"] = finish(deck, output)
    if record["restart"] is None:
        record["mismatch"] = same_as_reference(output, reference)
    return record


def disk_full_trial(root, k, reference, rng):
    folder = os.path.join(root, f"full_{k:03d}")
    mount = os.path.join(folder, "disk")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(mount)
    size_kb = rng.randint(120, 420)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", mount],
                      capture_output=True).returncode != 0:
        return None
    try:
        output = os.path.join(mount, "out")
        deck = write_deck(folder, output, rng.choice([1, 20, 40]))
        process = slidesim(["run", deck], cwd=folder)
        _, err = process.communicate(timeout=600)
        record = {"trial": k, "size_kB": size_kb, "exit": process.returncode,
                  "traceback": "Traceback" in err,
                  "message": err.strip().splitlines()[-1] if err.strip() else ""}
        record["clean_stop"] = (process.returncode == 2
                                and "No space left on device" in record["message"])
        record["unreadable"] = [p for p in readable(output) if p.startswith("checkpoint")]
        subprocess.run(["mount", "-o", "remount,size=8m", mount], check=True)
        record["restart"] = finish(deck, output)
        if record["restart"] is None:
            record["mismatch"] = same_as_reference(output, reference)
        return record
    finally:
        os.chdir(root)
        subprocess.run(["umount", mount], capture_output=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--disk-full", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    root = os.path.abspath(args.out)
    os.makedirs(root, exist_ok=True)
    rng = random.Random(args.seed)
    reference_folder = os.path.join(root, "reference")
    shutil.rmtree(reference_folder, ignore_errors=True)
    deck = write_deck(reference_folder, "out", 200)
    process = slidesim(["run", deck], cwd=reference_folder)
    _, err = process.communicate(timeout=600)
    if process.returncode != 0:
        sys.exit(f"the reference run failed: {err}")
    reference = os.path.join(reference_folder, "out")
    records = []
    for k in range(args.trials):
        record = kill_trial(root, k, reference, rng)
        records.append(record)
        print(json.dumps(record), flush=True)
    for k in range(args.disk_full):
        record = disk_full_trial(root, k, reference, rng)
        if record is None:
            print("disk-full trials skipped: cannot mount a tmpfs here (needs root)", flush=True)
            break
        records.append(record)
        print(json.dumps(record), flush=True)
    kills = [r for r in records if "signal" in r]
    fulls = [r for r in records if "size_kB" in r]

    def good(r):
        return (not r["unreadable"] and r["restart"] is None and not r.get("mismatch")
                and not r["traceback"])

    summary = {
        "kill_trials": len(kills),
        "kill_during_rotation": sum(r["rotation"] for r in kills),
        "killed_while_running": sum(r["killed_while_running"] for r in kills),
        "kill_outputs_readable": sum(not r["unreadable"] for r in kills),
        "kill_restarts_identical": sum(good(r) for r in kills),
        "disk_full_trials": len(fulls),
        "disk_full_clean_stops": sum(r["clean_stop"] and not r["traceback"] for r in fulls),
        "disk_full_restarts_identical": sum(good(r) for r in fulls),
        "tracebacks": sum(r["traceback"] for r in records),
        "records": records,
    }
    with open(os.path.join(root, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "records"}))
    ok = (summary["kill_restarts_identical"] == len(kills)
          and summary["disk_full_restarts_identical"] == len(fulls)
          and summary["disk_full_clean_stops"] == len(fulls) and summary["tracebacks"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
