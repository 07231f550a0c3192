"""Mutation fuzz of mcuq at scale: N mutants of the zoo models, each through `mcuq inspect`,
`mcuq verify --runners reference,tflm` and `mcuq generate --target c` (+ a host build and the
self-test of the project when generate succeeds), counted per outcome class.

    python benchmarks/fuzz.py 10000                # the test's mutators (mcuq.testing.mutate)
    python benchmarks/fuzz.py 10000 --adversary    # the second set, never used by the tests
    python benchmarks/fuzz.py 300 --jobs 2 --out /tmp/fuzz --seed 7
    python benchmarks/fuzz.py 1000 --models extra  # SVDF, LSTM (int8, 16x8) and 16x8 models

Everything runs in child processes: worker processes take mutants one after another and run
the commands through mcuq's CLI (click), reporting each outcome on a pipe; a worker killed by
a signal is a finding (attributed to the mutant and command in flight) and is replaced.
Every mutant that is not clean is saved under --out/<outcome>/ with the command that shows it.
The cross toolchain is hidden from the workers (generate's Cortex-M4 figures become a note).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


MODEL_SETS = ("zoo", "extra", "all")


def seed_models(which: str = "zoo") -> dict[str, bytes]:
    """The models mutated: "zoo" (mcuq.testing.zoo), "extra" (the stateful and 16-bit ones:
    SVDF keyword spotter, one-op LSTMs in int8 and 16x8, the 16x8 zoo models) or "all"."""
    import numpy as np

    out: dict[str, bytes] = {}
    if which in ("zoo", "all"):
        from mcuq.testing.zoo import zoo_models

        out.update(zoo_models())
    if which in ("extra", "all"):
        from mcuq.testing.lstm import lstm_model, random_spec
        from mcuq.testing.svdf import keyword_model
        from mcuq.testing.zoo16 import models16

        out["svdf_keyword"] = keyword_model(0)
        out["lstm_int8"] = lstm_model(random_spec(np.random.default_rng(1)))
        out["lstm_16x8"] = lstm_model(random_spec(np.random.default_rng(2), int16=True))
        out.update(models16())
    return out


def plan(n: int, seed: int, adversary: bool, models: list[str]) -> list[tuple[str, str, int]]:
    """(seed model, mutator, seed) for mutant k, deterministic."""
    import numpy as np

    from mcuq.testing.mutate import ADVERSARY_SET, TEST_SET

    names = ADVERSARY_SET if adversary else TEST_SET
    rng = np.random.default_rng(seed)
    return [(models[int(rng.integers(len(models)))], names[int(rng.integers(len(names)))],
             int(rng.integers(1 << 31))) for _ in range(n)]


# ---- worker -------------------------------------------------------------------------------

def worker(jobs_file: str, first: int, stride: int, workdir: str, build: bool,
           models: str = "zoo") -> None:
    """Child: mutants first, first+stride, ...; one JSON line per mutant and command."""
    from mcuq.testing import fuzz
    from mcuq.testing.mutate import mutate

    jobs = json.loads(Path(jobs_file).read_text())
    zoo = seed_models(models)
    out = sys.stdout
    for k in range(first, len(jobs), stride):
        model, mutator, seed = jobs[k]
        data = mutate(zoo[model], mutator, seed)
        if data is None:
            print(json.dumps({"k": k, "skip": True}), file=out, flush=True)
            continue
        mutant = Path(workdir) / f"mutant-{k}.tflite"
        mutant.write_bytes(data)
        print(json.dumps({"k": k, "start": True}), file=out, flush=True)
        res = fuzz.in_process(data, Path(workdir), build=build)
        print(json.dumps({"k": k, "outcomes": [o.__dict__ for o in res.outcomes]}), file=out,
              flush=True)
        mutant.unlink()


def _spawn(jobs_file, first, stride, workdir, build, env, models="zoo"):
    code = ("import sys; sys.path.insert(0, %r); from benchmarks.fuzz import worker; "
            "worker(%r, %d, %d, %r, %r, %r)" % (str(ROOT), jobs_file, first, stride, workdir,
                                                build, models))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--adversary", action="store_true", help="the mutators tests never use")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None, help="where non-clean mutants are saved")
    ap.add_argument("--no-build", action="store_true", help="skip the host build of projects")
    ap.add_argument("--models", choices=MODEL_SETS, default="zoo",
                    help="which models to mutate (see seed_models)")
    args = ap.parse_args()

    from mcuq.testing.fuzz import OUTCOMES, without_cross_toolchain
    from mcuq.testing.mutate import mutate

    zoo = seed_models(args.models)
    jobs = plan(args.n, args.seed, args.adversary, list(zoo))  # zoo: ZOO_NAMES order, as before
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="mcuq-fuzz-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="mcuq-fuzz-work-"))
    jobs_file = scratch / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    env = without_cross_toolchain(scratch / "bin")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    counts = {c: Counter() for c in ("inspect", "verify", "generate")}
    mutants = Counter()
    findings: list[dict] = []
    start = time.perf_counter()

    def record(k: int, outcomes: list[dict]) -> None:
        model, mutator, seed = jobs[k]
        mutants["run"] += 1
        bad = [o for o in outcomes if o["kind"] not in ("ok", "refused")]
        for o in outcomes:
            counts[o["command"]][o["kind"]] += 1
        if not bad:
            return
        mutants["not clean"] += 1
        for o in bad:
            where = out_dir / o["kind"]
            where.mkdir(exist_ok=True)
            stem = f"{k:05d}-{model}-{mutator}-{o['command']}"
            (where / f"{stem}.tflite").write_bytes(mutate(zoo[model], mutator, seed))
            (where / f"{stem}.txt").write_text(
                f"mutant {k}: model {model} ({args.models}), mutator {mutator}, seed {seed}\n"
                f"reproduce (in the repo): python -c \"from benchmarks.fuzz import seed_models; "
                f"from mcuq.testing.mutate import mutate; open('m.tflite','wb').write(mutate("
                f"seed_models('{args.models}')['{model}'], '{mutator}', {seed}))\"\n"
                f"then: mcuq {o['command']} m.tflite ...\nexit: {o['exit_code']}\n\n{o['detail']}")
            findings.append({"k": k, "model": model, "mutator": mutator, **o})

    workers = {}
    for w in range(args.jobs):
        workers[w] = [_spawn(str(jobs_file), w, args.jobs, str(scratch), not args.no_build,
                             env, args.models), w]
    while workers:
        for w, (proc, next_k) in list(workers.items()):
            line = proc.stdout.readline()
            if line:
                msg = json.loads(line)
                if msg.get("skip"):
                    mutants["not applicable"] += 1
                elif msg.get("start"):
                    workers[w][1] = msg["k"]
                else:
                    record(msg["k"], msg["outcomes"])
                    done = sum(mutants.values())
                    if done % 250 == 0:
                        print(f"  {done} / {args.n} in {time.perf_counter() - start:.0f} s",
                              file=sys.stderr, flush=True)
                continue
            code = proc.wait()
            k = workers[w][1]
            del workers[w]
            if code != 0 and k is not None and k < len(jobs):
                sig = signal.Signals(-code).name if code < 0 else f"exit {code}"
                counts.setdefault("worker", Counter())
                record(k, [{"command": "worker", "kind": "signal", "exit_code": code,
                            "detail": f"worker died ({sig})"}])
                nxt = k + args.jobs
                if nxt < len(jobs):  # replace the worker from the next mutant on
                    workers[w] = [_spawn(str(jobs_file), nxt, args.jobs, str(scratch),
                                         not args.no_build, env, args.models), nxt]
    seconds = time.perf_counter() - start
    print(f"\nmcuq fuzz: {args.n} mutants of the {args.models} models "
          f"({'adversary' if args.adversary else 'test'} mutators, seed {args.seed}), "
          f"{seconds:.0f} s, {args.jobs} workers")
    print(f"  mutants run {mutants['run']}, not applicable {mutants['not applicable']}, "
          f"not clean {mutants['not clean']}")
    header = f"  {'command':10}" + "".join(f"{c:>13}" for c in OUTCOMES)
    print(header)
    for cmd, c in counts.items():
        print(f"  {cmd:10}" + "".join(f"{c.get(k, 0):>13}" for k in OUTCOMES))
    if findings:
        print(f"\nnon-clean mutants saved under {out_dir}:")
        for f in findings[:30]:
            print(f"  #{f['k']} {f['model']} {f['mutator']} {f['command']}: {f['kind']}: "
                  f"{f['detail'].strip().splitlines()[-1][:150] if f['detail'].strip() else ''}")
    (out_dir / "summary.json").write_text(json.dumps(
        {"n": args.n, "models": args.models, "adversary": args.adversary, "seed": args.seed,
         "seconds": seconds,
         "mutants": mutants, "counts": {k: dict(v) for k, v in counts.items()},
         "findings": len(findings)}, indent=1))
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
