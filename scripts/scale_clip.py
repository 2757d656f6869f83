"""Scale the first frames of a real clip to a benchmark size (H.264, crf 20).

    python scripts/scale_clip.py ../shared/data/video/bikes.mp4 /tmp/bikes576.mp4 768x576 --frames 16
    python scripts/scale_clip.py ../shared/data/video/bikes.mp4 /tmp/bikes1080.mp4 1920x1080 --frames 16

(`vidmatte bench pipeline --resolution` sizes only its own generated pattern.)
"""

from __future__ import annotations

import argparse

import av


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("size", help="WxH")
    ap.add_argument("--frames", type=int, default=16)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    with av.open(args.src) as i, av.open(args.dst, "w") as o:
        vi = i.streams.video[0]
        s = o.add_stream("libx264", rate=vi.average_rate, options={"crf": "20", "preset": "fast"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for k, f in enumerate(i.decode(vi)):
            if k >= args.frames:
                break
            g = f.reformat(width=w, height=h, format="yuv420p", interpolation="BICUBIC")
            g.pts = None
            for p in s.encode(g):
                o.mux(p)
        for p in s.encode(None):
            o.mux(p)


if __name__ == "__main__":
    main()
