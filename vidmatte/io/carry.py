"""What an output keeps of its input besides pictures and streams: tags, chapters, attachments.

* Container tags (title, comment, artist, creation_time, …) are copied; the ones that
  describe the old file's encoding (encoder, major_brand, …, durations, rotate) are not.
* The video stream's ``language`` and ``title`` are copied.
* Chapters are copied into Matroska, WebM, MP4 and MOV (NUT and MPEG-TS have no place for
  them: one warning says they are left out).
* Attachments (fonts of styled subtitles, cover art in Matroska) are copied into Matroska;
  other containers cannot hold them (:func:`vidmatte.io.audio.plan_streams` names them).

Nothing here may cost the video: a failure is one warning.
"""

from __future__ import annotations

import os
from typing import Optional

import av

from vidmatte.errors import warn

__all__ = ["carry_info", "SKIPPED_TAGS", "CHAPTER_MUXERS"]

#: tags of the input that describe its own encoding, not the content
SKIPPED_TAGS = frozenset({"encoder", "major_brand", "minor_version", "compatible_brands", "duration", "rotate",
                          "encoded_by", "handler_name", "vendor_id", "_statistics_tags", "_statistics_writing_app",
                          "_statistics_writing_date_utc", "number_of_frames", "number_of_bytes", "bps"})
CHAPTER_MUXERS = frozenset({"matroska", "webm", "mp4", "mov"})


def _keep(key: str) -> bool:
    k = key.lower()
    return k not in SKIPPED_TAGS and not k.startswith(("_statistics", "duration", "number_of", "bps"))


def carry_info(input_path, out, video, muxer: str, target: Optional[str] = None) -> None:
    """Copy the tags, chapters and attachments of ``input_path`` into the output container
    ``out`` (not yet started) whose video stream is ``video``."""
    name = os.path.basename(os.fspath(input_path))
    try:
        with av.open(os.fspath(input_path), metadata_errors="ignore") as c:
            for k, v in c.metadata.items():
                if _keep(k):
                    out.metadata[k] = v
            if c.streams.video:
                vmeta = c.streams.video[0].metadata
                for k in ("language", "title"):
                    if vmeta.get(k) and vmeta[k] != "und":
                        video.metadata[k] = vmeta[k]
            chapters = c.chapters()
            if chapters and muxer in CHAPTER_MUXERS:
                out.set_chapters(chapters)
            elif chapters:
                warn(f"{name}: its {len(chapters)} chapter(s) are not kept in {target or 'the output'}: "
                     f"{muxer} has no chapters; write .mkv or .mp4 to keep them")
            if muxer == "matroska":
                for s in c.streams:
                    if s.type == "attachment" and getattr(s, "data", None):
                        out.add_attachment(s.name or "attachment", s.mimetype or "application/octet-stream",
                                           bytes(s.data))
    except (av.error.FFmpegError, OSError, ValueError, TypeError, AttributeError) as e:
        warn(f"{name}: its tags/chapters/attachments could not be copied ({e}); the video is unaffected")
