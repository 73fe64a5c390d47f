"""Azure Blob storage reads over REST (list a prefix, download a blob), through the counted session.

Auth: the managed identity's bearer token (``https://storage.azure.com/.default``; role Storage Blob Data
Reader), an account key (Shared Key signature) or a SAS token — the latter two from a secret. Azurite (the
storage emulator) answers the same REST API at ``http://127.0.0.1:10000/<account>``.
https://learn.microsoft.com/rest/api/storageservices/list-blobs, .../get-blob, .../authorize-with-shared-key
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator

from ...focus import UTC
from .session import SCOPE_STORAGE

X_MS_VERSION = "2023-11-03"


@dataclass(frozen=True)
class BlobItem:
    name: str
    size: int
    last_modified: datetime


class SharedKey:
    """Signs requests with a storage account key (Shared Key authorization for the Blob service)."""

    def __init__(self, account: str, key_b64: str):
        self.account = account
        self.key = base64.b64decode(key_b64)

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        headers["x-ms-date"] = formatdate(usegmt=True)
        parts = urllib.parse.urlsplit(url)
        h = {k.lower(): v for k, v in headers.items()}
        length = str(len(body)) if body else ""
        canon_headers = "".join(f"{k}:{' '.join(v.split())}\n" for k, v in sorted(h.items()) if k.startswith("x-ms-"))
        resource = f"/{self.account}{urllib.parse.unquote(parts.path)}"
        q = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        resource += "".join(f"\n{k.lower()}:{','.join(sorted(v))}" for k, v in sorted(q.items(), key=lambda kv: kv[0].lower()))
        to_sign = "\n".join([method, h.get("content-encoding", ""), h.get("content-language", ""), length,
                             h.get("content-md5", ""), h.get("content-type", ""), "", h.get("if-modified-since", ""),
                             h.get("if-match", ""), h.get("if-none-match", ""), h.get("if-unmodified-since", ""),
                             h.get("range", ""), canon_headers + resource])
        sig = base64.b64encode(hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = f"SharedKey {self.account}:{sig}"


class BlobContainer:
    """One container: ``account_url`` (``https://<account>.blob.core.windows.net`` or Azurite's
    ``http://127.0.0.1:10000/devstoreaccount1``) + ``container``."""

    def __init__(self, http: Any, account_url: str, container: str, *, auth: str = "managed-identity",
                 credential: str | None = None):
        self.http = http
        self.base = f"{account_url.rstrip('/')}/{container}"
        self.auth = auth
        account = urllib.parse.urlsplit(account_url).path.strip("/") or urllib.parse.urlsplit(account_url).hostname.split(".")[0]
        self.sign = SharedKey(account, credential or "") if auth == "account-key" else None
        self.sas = (credential or "").lstrip("?") if auth == "sas" else ""

    def _url(self, path: str, **params: str) -> str:
        q = urllib.parse.urlencode(params)
        if self.sas:
            q = f"{q}&{self.sas}" if q else self.sas
        return f"{self.base}{path}" + (f"?{q}" if q else "")

    def _get(self, url: str, operation: str) -> bytes:
        return self.http.request("GET", url, service="blob", operation=operation,
                                 scope=SCOPE_STORAGE if self.auth == "managed-identity" else None,
                                 headers={"x-ms-version": X_MS_VERSION, "Accept": "*/*"}, sign=self.sign).body

    def list(self, prefix: str) -> Iterator[BlobItem]:
        """Every blob under ``prefix`` (pages of up to 5 000 followed by ``NextMarker``)."""
        marker = ""
        while True:
            params = {"restype": "container", "comp": "list", "prefix": prefix}
            if marker:
                params["marker"] = marker
            root = ET.fromstring(self._get(self._url("", **params), "ListBlobs"))
            for b in root.iter("Blob"):
                props = b.find("Properties")
                yield BlobItem(name=b.findtext("Name") or "", size=int(props.findtext("Content-Length") or 0),
                               last_modified=parsedate_to_datetime(props.findtext("Last-Modified")).astimezone(UTC))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return

    def download(self, name: str, dest: Path) -> None:
        dest.write_bytes(self._get(self._url("/" + urllib.parse.quote(name)), "GetBlob"))

    def read(self, name: str) -> bytes:
        return self._get(self._url("/" + urllib.parse.quote(name)), "GetBlob")

    def put(self, name: str, data: bytes) -> None:
        """Upload a block blob (tests and the local demo deliver exports with it; the collector only reads)."""
        self.http.request("PUT", self._url("/" + urllib.parse.quote(name)), service="blob", operation="PutBlob",
                          scope=SCOPE_STORAGE if self.auth == "managed-identity" else None, raw_body=data,
                          headers={"x-ms-version": X_MS_VERSION, "x-ms-blob-type": "BlockBlob",
                                   "Content-Type": "application/octet-stream"}, sign=self.sign)

    def create(self) -> None:
        """Create the container (tests and the local demo)."""
        from ...errors import ProviderError
        try:
            self.http.request("PUT", self._url("", restype="container"), service="blob", operation="CreateContainer",
                              scope=SCOPE_STORAGE if self.auth == "managed-identity" else None,
                              headers={"x-ms-version": X_MS_VERSION, "Content-Type": "application/octet-stream"},
                              raw_body=b"", sign=self.sign)
        except ProviderError as e:
            if e.provider_code != "ContainerAlreadyExists":
                raise
