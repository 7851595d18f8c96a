"""Where the app's job spends the time the bare pipeline call does not (GPU): cProfile of
one SDXL txt2img job and of the bare call at the same size and steps, on the full-size
random-weight model gpu_bench.py builds. Prints the functions with the largest own time
outside the pipeline, for each.

    python bench/gpu_job_profile.py [--arch sdxl] [--steps 4]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_bench as gb


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="sdxl", choices=list(gb.NATIVE))
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true")
    args = ap.parse_args()
    import torch

    size = gb.NATIVE[args.arch]
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        folder = tmp / args.arch
        (gb.build_tiny(args.arch, folder) if args.tiny
         else gb.build_full(args.arch, folder, args.device))
        reg = gb.ModelRegistry(tmp / "models", allow_pickle=False)
        info = reg.add_folder(folder, name="p")
        engine = gb.default_engine(reg, device=args.device)
        doc = gb.Document.new(size + 256, size + 256)
        doc.set_selection(gb.sel.rect_mask(doc.width, doc.height,
                                           gb.Rect(128, 128, size, size)))
        params = dict(prompt="a lighthouse at dusk", model=info.id, seed=7, steps=args.steps)
        engine.run(gb.make_request(doc, "txt2img", **params))
        pipe = engine.backend("diffusers")._pipeline(info, "txt2img")
        sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)

        def raw() -> None:
            pipe(prompt=params["prompt"], width=size, height=size,
                 num_inference_steps=args.steps, guidance_scale=7.0,
                 generator=torch.Generator("cpu").manual_seed(7), output_type="np")
            sync()

        def job() -> None:
            res = engine.run(gb.make_request(doc, "txt2img", **params))
            gb.apply_result(doc, res)
            sync()
            doc.history.undo()

        for name, fn in (("raw", raw), ("job", job), ("raw", raw), ("job", job)):
            fn()
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            prof = cProfile.Profile()
            prof.enable()
            fn()
            prof.disable()
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(18)
            print(f"==== {name}: {dt * 1000:.1f} ms")
            print("\n".join(s.getvalue().splitlines()[6:32]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
