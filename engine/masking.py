"""Streaming secret masker: replaces every occurrence of every secret value by `***` in bytes.

Output arrives in arbitrary chunks, so a secret can be split across two reads; the masker keeps the
last `len(longest secret) - 1` bytes back until the next chunk decides them, and never holds more
than that.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = b"***"


class StreamMasker:
    """Masks secret values in a stream fed chunk by chunk; `feed` then `flush` equals `mask_all`.

    Every byte covered by any occurrence of any secret is hidden, and overlapping occurrences merge
    into one `***` (so "abc" and "bcd" in "abcd" leave nothing of either); adjacent ones stay
    separate, as with `bytes.replace`. Matching is on bytes, whatever the encoding around them.
    """

    def __init__(self, secret_values: Iterable[str | bytes]) -> None:
        # surrogateescape: a value from the environment that is not UTF-8 is masked as its bytes.
        encoded = {
            v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for v in secret_values
        }
        # Longest first: at one start position the longest value decides how far the mask reaches.
        self._secrets = sorted((v for v in encoded if v), key=len, reverse=True)
        self._keep = len(self._secrets[0]) - 1 if self._secrets else 0
        self._carry = b""
        self._base = 0  # stream offset of self._carry[0]
        self._emitted_to = 0  # stream offset up to which input was written out or masked
        self._mask_end = 0  # stream offset where the last mask ends

    @property
    def active(self) -> bool:
        """Whether there is anything to mask at all."""
        return bool(self._secrets)

    def feed(self, chunk: bytes) -> bytes:
        """Returns the masked bytes now decided; `longest - 1` bytes wait for the next chunk."""
        if not self._secrets:
            return chunk
        data = self._carry + chunk if self._carry else chunk
        # A start position before `frontier` has every secret's full length in view: it is decided.
        frontier = max(0, len(data) - self._keep)
        out = self._mask(data, frontier)
        self._carry = data[frontier:]
        self._base += frontier
        return out

    def flush(self) -> bytes:
        """Returns the masked rest at end of stream; the masker is empty afterwards."""
        data = self._carry
        out = self._mask(data, len(data)) if self._secrets else data
        self._carry = b""
        self._base += len(data)
        return out

    def mask_all(self, data: bytes) -> bytes:
        """Masks one complete buffer (such as an error message), leaving this stream alone."""
        masker = StreamMasker(self._secrets)
        return masker.feed(data) + masker.flush()

    def _mask(self, data: bytes, frontier: int) -> bytes:
        """Masks occurrences starting before `frontier` and emits the input up to it."""
        hits: list[tuple[int, int]] = []
        for secret in self._secrets:
            at = data.find(secret, 0, frontier + len(secret) - 1)
            while at != -1:
                hits.append((at, at + len(secret)))
                at = data.find(secret, at + 1, frontier + len(secret) - 1)
        base = self._base
        parts: list[bytes] = []
        emitted = self._emitted_to - base
        mask_end = self._mask_end - base
        for start, end in sorted(hits):
            if start < mask_end:  # overlaps the current mask: extend it, nothing new to write
                mask_end = max(mask_end, end)
                continue
            plain_from = max(emitted, mask_end)
            if start > plain_from:
                parts.append(data[plain_from:start])
            parts.append(MASK)
            emitted = mask_end = end
        plain_from = max(emitted, mask_end)
        if frontier > plain_from:
            parts.append(data[plain_from:frontier])
        self._emitted_to = base + max(plain_from, frontier)
        self._mask_end = base + mask_end
        return b"".join(parts)
