"""StreamMasker: every occurrence of every secret is masked, however the stream is chunked."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from engine.masking import StreamMasker


def reference_mask(data: bytes, secret_values: list[bytes]) -> bytes:
    """The one-shot definition: mask the union of all occurrences; overlapping ones merge."""
    intervals = sorted(
        (start, start + len(value))
        for value in {v for v in secret_values if v}
        for start in range(len(data) - len(value) + 1)
        if data.startswith(value, start)
    )
    merged: list[list[int]] = []
    for start, end in intervals:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = b"", 0
    for start, end in merged:
        out += data[pos:start] + b"***"
        pos = end
    return out + data[pos:]


def stream(masker: StreamMasker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(chunk) for chunk in chunks) + masker.flush()


def test_masks_every_occurrence() -> None:
    masker = StreamMasker(["hunter2"])
    assert masker.mask_all(b"a hunter2 b hunter2hunter2") == b"a *** b ******"


def test_longer_secret_wins_over_its_prefix() -> None:
    masker = StreamMasker(["hunter", "hunter2"])
    assert masker.mask_all(b"pw=hunter2;") == b"pw=***;"


def test_overlapping_secrets_leave_nothing_of_either() -> None:
    masker = StreamMasker(["abc", "bcd"])
    assert masker.mask_all(b"xabcdx") == b"x***x"


def test_empty_values_are_ignored_and_no_secrets_pass_through() -> None:
    masker = StreamMasker(["", ""])
    assert not masker.active
    assert stream(masker, [b"abc", b"def"]) == b"abcdef"


def test_non_ascii_secret_is_matched_as_utf8_bytes() -> None:
    masker = StreamMasker(["pässwörd"])
    data = "x pässwörd y".encode()
    assert stream(masker, [data[:4], data[4:7], data[7:]]) == b"x *** y"


def test_secret_split_byte_by_byte() -> None:
    masker = StreamMasker(["hunter2"])
    data = b"start hunter2 end"
    assert stream(masker, [bytes([b]) for b in data]) == b"start *** end"


def test_holds_back_at_most_longest_minus_one_bytes() -> None:
    masker = StreamMasker(["s3cret-value"])
    out = masker.feed(b"x" * 100_000)
    assert len(out) == 100_000 - (len("s3cret-value") - 1)


secret_strategy = st.lists(st.binary(min_size=0, max_size=6).map(lambda b: b.replace(b"*", b"")))
small_alphabet = st.lists(st.sampled_from(b"ab c\n"), max_size=200).map(bytes)


@given(
    secret_values=st.lists(
        st.lists(st.sampled_from(b"abc"), min_size=0, max_size=5).map(bytes), max_size=4
    ),
    data=small_alphabet,
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=20),
)
def test_any_chunking_equals_one_shot(
    secret_values: list[bytes], data: bytes, cuts: list[int]
) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    expected = reference_mask(data, secret_values)
    assert stream(StreamMasker(secret_values), chunks) == expected
    for value in secret_values:
        if value:
            assert value not in expected


@given(secret_values=secret_strategy, data=st.binary(max_size=300), chunk_size=st.integers(1, 17))
def test_arbitrary_bytes_fixed_chunks(
    secret_values: list[bytes], data: bytes, chunk_size: int
) -> None:
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    assert stream(StreamMasker(secret_values), chunks) == reference_mask(data, secret_values)


def test_a_secret_that_is_not_utf8_is_masked_as_its_bytes() -> None:
    # A value read from the environment carries its non-UTF-8 bytes as surrogate escapes.
    masker = StreamMasker(["ab\udcffcd"])
    assert masker.feed(b"x ab\xffcd y") + masker.flush() == b"x *** y"
