"""Before/after ``vidmatte bench pipeline``: two checkouts (each with its own .venv) take turns in
one command, best of N rounds each.

    python scripts/bench_before_after.py CLIP ROUNDS BEFORE_TREE AFTER_TREE
"""
import json
import subprocess
import sys

clip, rounds = sys.argv[1], int(sys.argv[2])
trees = {"before": sys.argv[3], "after": sys.argv[4]}
best = {k: {"pipeline": 0, "model": 0} for k in trees}
for r in range(rounds):
    for name, tree in trees.items():
        out = subprocess.run([f"{tree}/.venv/bin/python", "-m", "vidmatte_cli.main", "bench", "pipeline", "--clip", clip,
                              "--model-size", "256", "--device", "cpu", "--rounds", "1", "--no-naive", "--json"],
                             capture_output=True, text=True, cwd=tree)
        try:
            d = json.loads(out.stdout.strip().splitlines()[-1])
        except Exception:
            print(name, "failed", out.stderr[-2000:]); continue
        pf, mf = d.get("pipeline_fps"), d.get("model_only_fps")
        print(f"round {r} {name}: pipeline {pf:.3f} fps, model-only {mf:.3f} fps, ratio {pf / mf:.3f}, policy {d.get('policy')}", flush=True)
        best[name]["pipeline"] = max(best[name]["pipeline"], pf)
        best[name]["model"] = max(best[name]["model"], mf)
print(json.dumps(best))
print("after/before pipeline fps (best of %d): %.3f" % (rounds, best["after"]["pipeline"] / best["before"]["pipeline"]))
