"""vPDQ-style matching: re-encodes, trims and compilations of a known video match, unrelated footage does not."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from takedown.hashing import video_match
from takedown.hashing.hamming import HashFormatError
from takedown.hashing.media_frames import FrameLimits, extract_frames
from takedown.hashing.pdq import pdq_hash_image
from takedown.hashing.video_match import (
    FrameHash,
    VideoComparison,
    VideoMatchError,
    compare_videos,
    dedupe_consecutive,
    find_frames_matching,
    hash_frames,
    is_video_match,
)

from .conftest import Clip, concatenate, encode_frames, render_clip, transcode, video_hashes

if TYPE_CHECKING:
    from takedown.hashing.video_match import FrameHashes

BANK_SIZE = (640, 360)


def compare(query_video: bytes, bank: FrameHashes, media_type: str = "video/mp4") -> VideoComparison:
    return compare_videos(dedupe_consecutive(video_hashes(query_video, media_type)), dedupe_consecutive(bank))


def random_hex(rng: np.random.Generator, count: int) -> list[str]:
    return [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(count)]


def flip_bits(hex_hash: str, bits: list[int]) -> str:
    value = int(hex_hash, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


def frames_of(hexes: list[str]) -> list[FrameHash]:
    return [FrameHash(index, float(index), text, 90) for index, text in enumerate(hexes)]


# ----------------------------------------------------------------------------------------------------------
# Real videos


def test_the_bank_video_yields_one_usable_hash_per_second(bank_hashes: FrameHashes) -> None:
    # THEN (the fixture: 10 s, key frames every 2 s on the grid) ten frames, all of good quality
    assert [frame.timestamp_s for frame in bank_hashes] == [float(second) for second in range(10)]
    assert bank_hashes.low_quality_frames == 0
    assert all(frame.quality >= 50 for frame in bank_hashes)


@pytest.mark.parametrize(
    ("encoding", "media_type"),
    [
        (
            {"fps": 15, "size": (320, 180), "container": "webm", "codec": "libvpx-vp9", "bit_rate": 150_000},
            "video/webm",
        ),
        ({"fps": 24, "size": (1280, 720), "codec": "mpeg4", "bit_rate": 800_000}, "video/mp4"),
        ({"fps": 25, "size": (480, 270), "bit_rate": 100_000}, "video/mp4"),
    ],
    ids=["vp9-320x180-15fps", "mpeg4-1280x720-24fps", "h264-100kbps-25fps"],
)
def test_a_re_encoded_copy_matches(
    bank_video: bytes, bank_hashes: FrameHashes, encoding: dict[str, object], media_type: str
) -> None:
    # GIVEN the bank video decoded and encoded again at another size, frame rate, codec and bit rate
    copy = transcode(bank_video, **encoding)

    # WHEN
    result = compare(copy, bank_hashes, media_type)

    # THEN
    assert result.query_share >= 0.8
    assert result.bank_share >= 0.8
    assert is_video_match(result)


def test_a_trimmed_copy_matches_on_the_query_side(bank_video: bytes, bank_hashes: FrameHashes) -> None:
    # GIVEN the middle 5 s of the bank video, cut off the one-second grid (2.5 s to 7.5 s)
    trimmed = transcode(bank_video, fps=30, size=BANK_SIZE, start_s=2.5, end_s=7.5)

    # WHEN
    result = compare(trimmed, bank_hashes)

    # THEN nearly all of the query is in the bank video, but only part of the bank video is in the query
    assert result.query_share >= 0.8
    assert result.bank_share < 0.8
    assert is_video_match(result, side="query")
    assert not is_video_match(result, side="bank")
    assert not is_video_match(result, side="both")
    assert is_video_match(result)  # the default: either side


def test_a_compilation_containing_the_video_matches_on_the_bank_side(
    bank_video: bytes, bank_hashes: FrameHashes
) -> None:
    # GIVEN unrelated footage, then the whole bank video, then more unrelated footage
    before = render_clip(Clip(seed=202), 5, fps=30, size=BANK_SIZE)
    after = render_clip(Clip(seed=303), 5, fps=30, size=BANK_SIZE)
    compilation = concatenate(before, bank_video, after, fps=30, size=BANK_SIZE)

    # WHEN
    result = compare(compilation, bank_hashes)

    # THEN
    assert result.bank_share >= 0.8
    assert result.query_share < 0.8
    assert is_video_match(result, side="bank")
    assert not is_video_match(result, side="query")
    assert is_video_match(result)


def test_an_unrelated_video_does_not_match(bank_hashes: FrameHashes) -> None:
    # GIVEN other footage of the same kind (shapes on colour, same size and length)
    other = render_clip(Clip(seed=404), 10, fps=30, size=BANK_SIZE)

    # WHEN
    result = compare(other, bank_hashes)

    # THEN
    assert result.query_share <= 0.2
    assert result.bank_share <= 0.2
    assert result.query_frames > 0
    for side in video_match.MATCH_SIDES:
        assert not is_video_match(result, side=side)


def test_a_still_of_the_bank_video_is_found_among_its_frames(
    bank_clip: Clip, bank_hashes: FrameHashes
) -> None:
    # GIVEN the picture on screen at 3 s, as a 1280x720 JPEG screenshot
    buffer = io.BytesIO()
    bank_clip.frame(3.0, 1280, 720).save(buffer, "JPEG", quality=80)
    still = pdq_hash_image(Image.open(io.BytesIO(buffer.getvalue())))
    unrelated = pdq_hash_image(Clip(seed=405).frame(3.0, 1280, 720))

    # WHEN
    found = find_frames_matching(still, bank_hashes)
    not_found = find_frames_matching(unrelated.hex, bank_hashes)

    # THEN the nearest frame is the one sampled at 3 s
    assert found
    assert found[0].frame.timestamp_s == 3.0
    assert found[0].distance <= video_match.PDQ_MATCH_DISTANCE
    assert [match.distance for match in found] == sorted(match.distance for match in found)
    assert not_found == []


def test_fast_footage_trimmed_off_the_grid_matches_against_a_denser_bank() -> None:
    # GIVEN fast-moving footage (frames half a second apart differ by more than the match threshold) and a
    # copy trimmed at 2.5 s, so each of its samples falls half-way between two one-per-second bank samples
    fast = render_clip(Clip(seed=505, speed=0.04), 10, fps=30, size=BANK_SIZE, gop=60)
    trimmed = transcode(fast, fps=30, size=BANK_SIZE, start_s=2.5, end_s=7.5)
    query = dedupe_consecutive(video_hashes(trimmed))
    sparse_bank = dedupe_consecutive(video_hashes(fast))
    dense_bank = dedupe_consecutive(
        hash_frames(extract_frames(fast, "video/mp4", FrameLimits(sample_every_s=0.25)))
    )

    # WHEN
    against_sparse = compare_videos(query, sparse_bank)
    against_dense = compare_videos(query, dense_bank)

    # THEN sampling the bank four times a second puts a bank frame near every query frame
    assert against_dense.query_share >= 0.8
    assert against_sparse.query_share < against_dense.query_share


def test_flat_frames_are_left_out_and_counted() -> None:
    # GIVEN 2 s of black, then 3 s of footage
    black = [Image.new("RGB", (320, 180), "black")] * 48
    footage = [Clip(seed=606).frame(index / 24, 320, 180) for index in range(72)]
    data = encode_frames(black + footage, fps=24)

    # WHEN
    hashes = hash_frames(extract_frames(data, "video/mp4"))

    # THEN the black samples are counted, not hashed
    assert hashes.low_quality_frames >= 2
    assert all(frame.timestamp_s >= 2.0 for frame in hashes)
    assert all(frame.quality >= hashes.min_quality for frame in hashes)
    assert len(hashes) >= 3


def test_a_still_shot_collapses_to_one_frame() -> None:
    # GIVEN 4 s of one picture
    still = Clip(seed=707).frame(0.0, 320, 180)
    hashes = hash_frames(extract_frames(encode_frames([still] * 96, fps=24, gop=250), "video/mp4"))
    assert len(hashes) == 4

    # WHEN
    unique = dedupe_consecutive(hashes)

    # THEN
    assert [frame.timestamp_s for frame in unique] == [0.0]


# ----------------------------------------------------------------------------------------------------------
# The arithmetic, on made-up hashes


def test_dedupe_compares_with_the_last_kept_frame() -> None:
    # GIVEN a hash drifting by 3 bits a frame, and a 4-bit dedupe distance
    start = "0" * 64
    drift = [flip_bits(start, list(range(3 * step))) for step in range(4)]  # 0, 3, 6, 9 bits from start

    # WHEN
    kept = dedupe_consecutive(frames_of(drift), max_distance=4)

    # THEN frame 1 (3 bits) is dropped; frame 2 is 6 bits from frame 0 (the last kept) so it stays
    assert [frame.index for frame in kept] == [0, 2]


def test_dedupe_keeps_a_frame_just_over_the_distance() -> None:
    base = "f" * 64
    kept = dedupe_consecutive(
        frames_of([base, flip_bits(base, [0, 1, 2, 3]), flip_bits(base, [0, 1, 2, 3, 4])])
    )
    assert [frame.index for frame in kept] == [0, 2]


def test_identical_frames_count_once() -> None:
    # GIVEN a query of one hash repeated, and a bank with that hash and three others
    rng = np.random.default_rng(1)
    shared, *others = random_hex(rng, 4)

    # WHEN
    result = compare_videos(frames_of([shared] * 5), frames_of([shared, *others]))

    # THEN
    assert (result.query_frames, result.matched_query_frames, result.query_share) == (1, 1, 1.0)
    assert (result.bank_frames, result.matched_bank_frames, result.bank_share) == (4, 1, 0.25)


def test_a_side_without_frames_shares_nothing() -> None:
    result = compare_videos([], frames_of(["0f" * 32]))
    assert (result.query_share, result.bank_share, result.query_frames, result.bank_frames) == (
        0.0,
        0.0,
        0,
        1,
    )
    assert not is_video_match(result)


def test_the_threshold_is_inclusive() -> None:
    base = "5a" * 32
    at_limit = frames_of([flip_bits(base, list(range(31)))])
    over_limit = frames_of([flip_bits(base, list(range(32)))])
    assert compare_videos(frames_of([base]), at_limit).query_share == 1.0
    assert compare_videos(frames_of([base]), over_limit).query_share == 0.0


def test_blocked_distances_agree_with_a_plain_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 300 query and 200 bank hashes, 40 bank hashes planted near query ones (10-40 bits away), and
    # blocks small enough that the query is split into many of them
    rng = np.random.default_rng(7)
    query = random_hex(rng, 300)
    bank = random_hex(rng, 160)
    for source in rng.choice(300, 40, replace=False):
        bank.append(
            flip_bits(
                query[source], [int(bit) for bit in rng.choice(256, rng.integers(10, 41), replace=False)]
            )
        )
    monkeypatch.setattr(video_match, "_BLOCK_WORDS", 4 * 200 * 7)

    # WHEN
    result = compare_videos(frames_of(query), frames_of(bank), pdq_max=31)

    # THEN
    def close(a: str, b: str) -> bool:
        return (int(a, 16) ^ int(b, 16)).bit_count() <= 31

    expected_query = sum(any(close(q, b) for b in bank) for q in query)
    expected_bank = sum(any(close(q, b) for q in query) for b in bank)
    assert (result.matched_query_frames, result.matched_bank_frames) == (expected_query, expected_bank)
    assert 0 < expected_query < 40


def test_an_hour_of_frames_against_a_bank_video() -> None:
    # GIVEN an hour sampled every second against a 10-minute bank video that is part of it (2 million
    # pairs, split into blocks; speed is measured outside the tests)
    rng = np.random.default_rng(8)
    query = frames_of(random_hex(rng, 3600))
    bank = frames_of([frame.pdq for frame in query[600:1200]])

    # WHEN
    result = compare_videos(query, bank)

    # THEN
    assert result.matched_bank_frames == 600
    assert result.bank_share == 1.0
    assert result.query_share == pytest.approx(600 / 3600)


def test_frame_hashes_read_as_a_sequence(bank_hashes: FrameHashes) -> None:
    assert len(bank_hashes) == len(list(bank_hashes))
    assert bank_hashes[0] == next(iter(bank_hashes))
    assert list(bank_hashes[1:3]) == list(bank_hashes)[1:3]


def test_bad_arguments_are_refused_with_a_reason() -> None:
    comparison = VideoComparison(1.0, 1.0, 1, 1, 1, 1)
    with pytest.raises(VideoMatchError) as side:
        is_video_match(comparison, side="sideways")
    assert side.value.reason == "side:unknown"
    with pytest.raises(VideoMatchError) as share:
        is_video_match(comparison, share=1.5)
    assert share.value.reason == "share:range"
    with pytest.raises(VideoMatchError) as distance:
        compare_videos([], [], pdq_max=300)
    assert distance.value.reason == "distance:range"
    with pytest.raises(HashFormatError):
        compare_videos(frames_of(["not hex" * 9]), frames_of(["0" * 64]))
