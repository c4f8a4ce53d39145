"""Uploading signed evidence to write-once storage: S3 with Object Lock.

Evidence that can be deleted or changed after the fact proves little to an
auditor, so uploads go only to a bucket with Object Lock enabled, each
object with a retention mode (``COMPLIANCE``: nobody, not even the root
account, can delete it before the date; ``GOVERNANCE``: only with a special
permission) and a retain-until date. Only signed bundles are uploaded (run
folders and game-day folders holding an attestation): an unsigned one is
named and skipped. Keys keep the folder layout under the prefix
(``PREFIX/<drill>/<run-id>/report.json``), so ``drill verify`` works on a
download as it does locally. boto3 is imported here only, lazily; its errors
are wrapped with the cause chained and the message cut short.

Azure Blob immutable storage is not supported yet (the Azure Storage SDK is
not a dependency): an ``azblob://`` URI is refused with that reason.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from drillkit.errors import PermanentError, UserInputError

ATTESTATION = "attestation.intoto.json"
MODES = ("COMPLIANCE", "GOVERNANCE")
_MESSAGE_LIMIT = 256


@dataclass(frozen=True)
class UploadResult:
    bucket: str
    keys: tuple[str, ...]
    bundles: tuple[str, ...]
    skipped: tuple[str, ...]
    """Folders that are not signed bundles, with the reason."""
    retain_until: datetime
    mode: str


def parse_destination(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at the ends)."""
    if uri.startswith("azblob://"):
        raise UserInputError(
            f"{uri}: Azure Blob upload is not supported yet (the Azure Storage SDK is not "
            "installed with drillkit)",
            fix="upload to an S3 bucket with Object Lock (s3://BUCKET/PREFIX), or copy the "
            "bundles with azcopy to a container with an immutability policy",
        )
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise UserInputError(
            f"--to {uri!r} is not an s3:// URI",
            fix="give s3://BUCKET/PREFIX, e.g. s3://dr-evidence/orders",
        )
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def signed_bundles(source: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """(folder, key path relative to the reports root) of each signed bundle under ``source``.

    ``source`` is one bundle or a reports folder (``<drill>/<run-id>/`` and
    ``_gamedays/<plan>/<id>/`` inside).
    """
    if (source / ATTESTATION).is_file():
        return [(source, f"{source.parent.name}/{source.name}")], []
    found: list[tuple[Path, str]] = []
    skipped: list[str] = []
    candidates = sorted(source.glob("*/*")) + sorted(source.glob("_gamedays/*/*"))
    for folder in candidates:
        if not folder.is_dir() or folder.is_symlink() or folder.parent.name == "_gamedays":
            continue
        relative = folder.relative_to(source).as_posix()
        if (folder / ATTESTATION).is_file():
            found.append((folder, relative))
        elif (folder / "journal.jsonl").is_file():
            skipped.append(f"{relative}: not signed")
    return found, skipped


def upload(
    source: Path,
    destination: str,
    *,
    retain_days: int,
    mode: str,
    now: datetime | None = None,
) -> UploadResult:
    """Upload every signed bundle under ``source`` with Object Lock retention."""
    if mode not in MODES:
        raise UserInputError(f"--mode {mode}: unknown", fix=f"use one of {', '.join(MODES)}")
    if retain_days < 1:
        raise UserInputError("--retain-days must be at least 1", fix="e.g. --retain-days 400")
    bucket, prefix = parse_destination(destination)
    bundles, skipped = signed_bundles(source)
    if not bundles:
        raise UserInputError(
            f"{source}: no signed evidence bundle to upload",
            fix="pass a run folder, or the reports folder holding signed runs",
        )
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = boto3.client("s3")
    _require_object_lock(s3, bucket, ClientError)
    until = (now or datetime.now(UTC)) + timedelta(days=retain_days)
    keys: list[str] = []
    try:
        for folder, relative in bundles:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                key = "/".join(
                    part for part in (prefix, relative, path.relative_to(folder).as_posix()) if part
                )
                data = path.read_bytes()
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=data,
                    ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
                    ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
                    ObjectLockMode=mode,
                    ObjectLockRetainUntilDate=until,
                )
                keys.append(key)
    except (ClientError, BotoCoreError) as exc:
        raise PermanentError(
            f"uploading to s3://{bucket} failed: {_short(exc)}",
            fix="check the bucket, the credentials' s3:PutObject and s3:PutObjectRetention",
        ) from exc
    return UploadResult(
        bucket, tuple(keys), tuple(r for _, r in bundles), tuple(skipped), until, mode
    )


def _require_object_lock(s3: Any, bucket: str, client_error: type[Exception]) -> None:
    try:
        configuration = s3.get_object_lock_configuration(Bucket=bucket)
    except client_error as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("ObjectLockConfigurationNotFoundError", "NoSuchBucket"):
            raise UserInputError(
                f"s3://{bucket} has no Object Lock"
                + (" (no such bucket)" if code == "NoSuchBucket" else ""),
                fix="evidence goes only to write-once storage: create the bucket with "
                "--object-lock-enabled-for-bucket",
            ) from exc
        raise PermanentError(f"reading s3://{bucket}'s Object Lock: {_short(exc)}") from exc
    enabled = configuration.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
    if enabled != "Enabled":
        raise UserInputError(
            f"s3://{bucket} has no Object Lock enabled",
            fix="create the bucket with --object-lock-enabled-for-bucket",
        )


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
