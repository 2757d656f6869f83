"""Regenerate the sample media in this folder (run once; outputs are committed).

Sources, all licence-clean:
- astronaut.jpg: NASA portrait of Eileen Collins (public domain), as shipped in
  scikit-image's data folder (``skimage/data/astronaut.png``), downscaled.
- talk.mp4: 4 s, 640x360, 30 fps H.264 + AAC, a slow pan/zoom over astronaut.jpg with a
  synthetic voice-like tone (generated here).
- beach.jpg: a procedural sky / sea / sand background (generated here).

Usage: python samples/make_samples.py PATH/TO/astronaut.png
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def make_beach(w: int = 1280, h: int = 720) -> np.ndarray:
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    sky = (1 - y / 0.55) * np.array([90, 160, 235]) + (y / 0.55) * np.array([200, 225, 245])
    sea = np.array([20, 110, 160]) + 25 * np.sin(60 * x + 300 * y)
    sand = np.array([225, 200, 150]) - 40 * (y - 0.75)
    img = np.where(y < 0.55, sky, np.where(y < 0.75, sea, sand))
    rng = np.random.default_rng(7)
    img = img + rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_talk(portrait: np.ndarray, out: Path, seconds: float = 4.0, fps: int = 30) -> None:
    w, h = 640, 360
    ph, pw = portrait.shape[:2]
    n = int(seconds * fps)
    sr = 48000
    with av.open(str(out), "w") as c:
        v = c.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "medium"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = c.add_stream("aac", rate=sr, layout="mono")
        for i in range(n):
            s = i / n
            zoom = 1.0 + 0.15 * s
            cw, ch = pw / zoom, pw / zoom * h / w
            cx = pw / 2 + 20 * np.sin(2 * np.pi * s)
            cy = ch / 2 + 10 + 15 * s
            m = np.float32([[w / cw, 0, -(cx - cw / 2) * w / cw], [0, h / ch, -(cy - ch / 2) * h / ch]])
            frame = cv2.warpAffine(portrait, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
            for p in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(p)
        t = np.arange(int(seconds * sr)) / sr
        voice = 0.2 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) ** 2
        pcm = voice.astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = sr, 0, Fraction(1, sr)
        for p in a.encode(frame):
            c.mux(p)
        for s in (v, a):
            for p in s.encode(None):
                c.mux(p)


def main(src: str) -> None:
    portrait = cv2.cvtColor(cv2.imread(src), cv2.COLOR_BGR2RGB)
    portrait = cv2.resize(portrait, (384, 384), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(HERE / "astronaut.jpg"), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(str(HERE / "beach.jpg"), cv2.cvtColor(make_beach(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    make_talk(portrait, HERE / "talk.mp4")


if __name__ == "__main__":
    main(sys.argv[1])
