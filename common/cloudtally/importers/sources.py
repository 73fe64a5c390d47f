"""Where export files come from: local files, folders, ``s3://bucket/prefix``; gzip is streamed to a
temporary file so the columnar reader scans it in bounded memory (the Lambda path uses /tmp)."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import ValidationError

EXTENSIONS = (".csv", ".csv.gz", ".parquet", ".gz")


@dataclass(frozen=True)
class Source:
    """One export file: a local path or an S3 object."""

    name: str             # what messages call it (path or s3:// URL)
    size: int
    path: Path | None = None
    bucket: str | None = None
    key: str | None = None


def is_export(name: str) -> bool:
    n = name.lower()
    return n.endswith((".csv", ".csv.gz", ".parquet", ".snappy.parquet", ".gz.parquet"))


def expand(paths: list[str], *, s3_client: Any = None) -> list[Source]:
    """Files as given; folders and S3 prefixes expanded to their export files, sorted by name."""
    out: list[Source] = []
    for p in paths:
        if p.startswith("s3://"):
            out.extend(list_s3(p, s3_client))
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and is_export(f.name))
            if not files:
                raise ValidationError(f"{p}: no .csv, .csv.gz or .parquet files in this folder",
                                      details=[{"file": p, "row": 0, "column": "", "message": "empty folder"}])
            out.extend(Source(str(f), f.stat().st_size, path=f) for f in files)
        elif path.is_file():
            out.append(Source(str(path), path.stat().st_size, path=path))
        else:
            raise ValidationError(f"{p}: no such file or folder",
                                  details=[{"file": p, "row": 0, "column": "", "message": "not found"}])
    return out


def parse_s3(url: str) -> tuple[str, str]:
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValidationError(f"{url}: expected s3://bucket/prefix")
    return bucket, prefix


def list_s3(url: str, client: Any = None) -> list[Source]:
    bucket, prefix = parse_s3(url)
    client = client or _s3()
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if is_export(obj["Key"]):
                out.append(Source(f"s3://{bucket}/{obj['Key']}", int(obj["Size"]), bucket=bucket, key=obj["Key"]))
    if not out:
        raise ValidationError(f"{url}: no export files under this prefix",
                              details=[{"file": url, "row": 0, "column": "", "message": "no files"}])
    return sorted(out, key=lambda s: s.name)


def _s3():
    import boto3  # lazy: no client at import
    return boto3.client("s3")


@contextmanager
def local_copy(src: Source, *, s3_client: Any = None, tmpdir: str | None = None) -> Iterator[Path]:
    """A local, uncompressed path for the source (temporary copies are removed afterwards)."""
    tmp: list[Path] = []
    try:
        path = src.path
        if path is None:
            fd, name = tempfile.mkstemp(prefix="ct-import-", suffix=_suffix(src.key or ""), dir=tmpdir)
            os.close(fd)
            path = Path(name)
            tmp.append(path)
            (s3_client or _s3()).download_file(src.bucket, src.key, str(path))
        if _gzipped(path):
            fd, name = tempfile.mkstemp(prefix="ct-import-", suffix=".csv", dir=tmpdir)
            os.close(fd)
            out = Path(name)
            tmp.append(out)
            try:
                with gzip.open(path, "rb") as fin, open(out, "wb") as fout:
                    shutil.copyfileobj(fin, fout, 4 << 20)
            except (OSError, EOFError) as e:
                raise ValidationError(f"{src.name}: not a readable gzip file: {e}",
                                      details=[{"file": src.name, "row": 0, "column": "", "message": "bad gzip"}]) from None
            path = out
        yield path
    finally:
        for t in tmp:
            t.unlink(missing_ok=True)


def _suffix(key: str) -> str:
    k = key.lower()
    for s in (".csv.gz", ".parquet", ".csv", ".gz"):
        if k.endswith(s):
            return s
    return ""


def _gzipped(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"
