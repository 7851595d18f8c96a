"""A defensive, read-only view of a zip archive (the container of an OpenRaster file).

It never extracts anything to disk and refuses what a hostile archive can use to hurt us:
member names that climb out of the archive (`../../etc/passwd`, `/etc/passwd`, `C:\\x`),
encrypted members, absurd member counts, and zip bombs. For bombs it checks the sizes the
archive declares (per member, in total, and the compression ratio) *and* counts the bytes
actually inflated while streaming, so a lying header cannot make us inflate more.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from types import TracebackType

from .errors import FileFormatError, PathLike, describe, kind_of

MiB = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 100_000
    max_member_bytes: int = 1024 * MiB       # one inflated member
    max_total_bytes: int = 8192 * MiB        # everything we read from one archive
    max_ratio: float = 200.0                 # inflated / compressed ...
    ratio_floor_bytes: int = 32 * MiB        # ... checked only for members this big


DEFAULT_LIMITS = ZipLimits()
CHUNK = 1 * MiB


def safe_member_name(name: str) -> str | None:
    """The normalised archive path for a reference such as a layer `src`, or None if unsafe.

    Refuses absolute paths, drive letters, `..` components, NUL bytes and empty names.
    """
    if not name or "\x00" in name:
        return None
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return None
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


class SafeZip:
    """Read members of a zip archive with size, ratio and name checks."""

    def __init__(self, path: PathLike, limits: ZipLimits | None = None) -> None:
        self.path = path
        self.limits = limits or DEFAULT_LIMITS
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(path)
        except FileFormatError:
            raise
        except zipfile.BadZipFile as exc:
            raise FileFormatError(path, "it is not a zip archive, as an OpenRaster file "
                                  "must be") from exc
        except (OSError, ValueError, EOFError, RuntimeError) as exc:
            raise FileFormatError(path, describe(exc), kind_of(exc)) from exc
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_members:
            self.close()
            raise FileFormatError(path, f"the archive holds {len(infos)} members, too many")
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            key = safe_member_name(info.filename)
            if key is not None and not info.is_dir():
                self._infos.setdefault(key, info)

    # ---- context manager ------------------------------------------------------------------
    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    # ---- queries --------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._infos)

    def first_name(self) -> str | None:
        infos = self._zip.infolist()
        return infos[0].filename if infos else None

    def has(self, name: str) -> bool:
        key = safe_member_name(name)
        return key is not None and key in self._infos

    def info(self, name: str) -> zipfile.ZipInfo:
        key = safe_member_name(name)
        if key is None:
            raise FileFormatError(self.path, f"member name {name!r} points outside the archive")
        info = self._infos.get(key)
        if info is None:
            raise FileFormatError(self.path, f"member {name!r} is missing from the archive")
        return info

    # ---- reading --------------------------------------------------------------------------
    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The inflated bytes of member `name`, refusing anything over the limits."""
        info = self.info(name)
        lim = self.limits
        cap = lim.max_member_bytes if max_bytes is None else min(max_bytes, lim.max_member_bytes)
        if info.flag_bits & 0x1:
            raise FileFormatError(self.path, f"member {name!r} is encrypted")
        if info.file_size > cap:
            raise FileFormatError(
                self.path, f"member {name!r} declares {info.file_size} bytes, over the "
                f"limit of {cap} (possible zip bomb)")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= lim.ratio_floor_bytes and ratio > lim.max_ratio:
            raise FileFormatError(
                self.path, f"member {name!r} expands {ratio:.0f} times (possible zip bomb)")
        if self._read_total + info.file_size > lim.max_total_bytes:
            raise FileFormatError(self.path, "the archive's members add up to too much data "
                                  "(possible zip bomb)")
        chunks: list[bytes] = []
        got = 0
        try:
            with self._zip.open(info) as f:
                while True:
                    block = f.read(CHUNK)
                    if not block:
                        break
                    got += len(block)
                    if got > info.file_size or got > cap:
                        raise FileFormatError(
                            self.path, f"member {name!r} inflates past its declared size "
                            "(possible zip bomb)")
                    chunks.append(block)
        except FileFormatError:
            raise
        except Exception as exc:  # BadZipFile (bad CRC), zlib.error, EOFError, OSError, ...
            raise FileFormatError(self.path, f"member {name!r}: {describe(exc)}") from exc
        if got != info.file_size:
            raise FileFormatError(self.path, f"member {name!r} is truncated")
        self._read_total += got
        return b"".join(chunks)

