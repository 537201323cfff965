"""Thumbnails and previews per format from the shared photos, and bad input that must fail cleanly."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import pyvips
from thumbhash.encode import rgba_to_thumbhash

from appliance.media.errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from appliance.media.images import ImageLimits, OutputSpec, render_image_blocking
from appliance.media.thumbhash import thumbhash_from_image

from .conftest import png_bomb

# (file, oriented original size, preview size, thumbnail size)
FORMATS = [
    ("formats/jpg/el_torcal_rocks.jpg", (512, 341), (512, 341), (375, 250)),
    ("albums/text/craft-beer.jpg", (6000, 4000), (2160, 1440), (375, 250)),
    ("albums/text/book-beside-flowers.jpg", (3024, 4032), (1440, 1920), (250, 333)),
    ("formats/png/density_plot.png", (800, 800), (800, 800), (250, 250)),
    ("formats/webp/denali.webp", (600, 315), (600, 315), (476, 250)),
    ("formats/heic/IMG_2682.heic", (4032, 3024), (1920, 1440), (333, 250)),
    ("formats/avif/8bit-sRGB.avif", (1617, 1080), (1617, 1080), (374, 250)),
    ("formats/avif/10bit-HDR-P3-nclx.avif", (3681, 5594), (1440, 2188), (250, 380)),
    ("formats/jxl/8bit-sRGB.jxl", (1440, 1080), (1440, 1080), (333, 250)),
    ("formats/jxl/16bit-HDR-P3-nclx.jxl", (5667, 3685), (2214, 1440), (384, 250)),
    ("formats/motionphoto/samsung-one-ui-6.heic", (3000, 4000), (1440, 1920), (250, 333)),
    ("metadata/faces/portrait-orientation-6.jpg", (840, 700), (840, 700), (300, 250)),
]


def outputs(folder: Path) -> list[OutputSpec]:
    return [
        OutputSpec(folder / "thumbnail.webp", 250, "webp"),
        OutputSpec(folder / "preview.jpeg", 1440, "jpeg"),
    ]


@pytest.mark.parametrize(("name", "original", "preview", "thumbnail"), FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_gets_a_webp_thumbnail_and_jpeg_preview_by_the_shorter_edge(
    test_assets: Path, tmp_path: Path, name: str, original: tuple[int, int], preview: tuple[int, int],
    thumbnail: tuple[int, int],
) -> None:
    result = render_image_blocking(test_assets / name, outputs(tmp_path))
    assert (result.width, result.height) == original
    thumb = pyvips.Image.new_from_file(str(tmp_path / "thumbnail.webp"))
    big = pyvips.Image.new_from_file(str(tmp_path / "preview.jpeg"))
    assert thumb.get("vips-loader") == "webpload"
    assert big.get("vips-loader") == "jpegload"
    assert abs(big.width - preview[0]) <= 1 and abs(big.height - preview[1]) <= 1  # Pillow rounds its way
    assert abs(thumb.width - thumbnail[0]) <= 1 and abs(thumb.height - thumbnail[1]) <= 1
    assert big.interpretation == "srgb" and big.bands == 3
    assert len(result.thumbhash) >= 16
    assert not list(tmp_path.glob(".*.tmp"))


def test_exif_orientation_is_applied_so_a_rotated_portrait_comes_out_upright(
    test_assets: Path, tmp_path: Path
) -> None:
    """portrait-orientation-6.jpg is stored 700x840 with orientation 6; portrait.jpg is the same scene upright."""
    render_image_blocking(test_assets / "metadata/faces/portrait-orientation-6.jpg", outputs(tmp_path / "a"))
    render_image_blocking(test_assets / "metadata/faces/portrait.jpg", outputs(tmp_path / "b"))
    rotated = pyvips.Image.new_from_file(str(tmp_path / "a/preview.jpeg")).colourspace("b-w")
    upright = pyvips.Image.new_from_file(str(tmp_path / "b/preview.jpeg")).colourspace("b-w")
    assert (rotated.width, rotated.height) == (upright.width, upright.height) == (840, 700)
    assert (rotated - upright).abs().avg() < 12


def test_thumbhash_matches_the_reference_encoder(test_assets: Path) -> None:
    image = pyvips.Image.thumbnail(str(test_assets / "albums/nature/prairie_falcon.jpg"), 100, height=100)
    rgba = image.bandjoin(255).copy_memory()
    expected = rgba_to_thumbhash(rgba.width, rgba.height, bytes(rgba.write_to_memory()))
    assert thumbhash_from_image(rgba) == expected


def test_thumbhash_of_a_transparent_image_marks_alpha(test_assets: Path) -> None:
    photo = pyvips.Image.thumbnail(str(test_assets / "albums/nature/prairie_falcon.jpg"), 100, height=100)
    xy = pyvips.Image.xyz(photo.width, photo.height)
    alpha = (xy[0] * 2 + xy[1]).cast("uchar")
    rgba = photo.bandjoin(alpha).copy_memory()
    hashed = thumbhash_from_image(rgba)
    reference = rgba_to_thumbhash(rgba.width, rgba.height, bytes(rgba.write_to_memory()))
    assert hashed[2] & 0x80  # header bit 23: has alpha
    assert len(hashed) == len(reference)
    # A coefficient of exactly zero lands on a rounding edge; float noise may tip one nibble either way.
    nibbles = [(a >> s & 15, b >> s & 15) for a, b in zip(hashed, reference, strict=True) for s in (0, 4)]
    assert all(abs(x - y) <= 1 for x, y in nibbles)
    assert sum(x != y for x, y in nibbles) <= 2


def test_small_images_are_never_upscaled(test_assets: Path, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    pyvips.Image.black(120, 80).bandjoin([100, 200]).cast("uchar").write_to_file(str(tiny))
    result = render_image_blocking(tiny, outputs(tmp_path))
    assert (result.width, result.height) == (120, 80)
    assert pyvips.Image.new_from_file(str(tmp_path / "preview.jpeg")).width == 120
    assert pyvips.Image.new_from_file(str(tmp_path / "thumbnail.webp")).width == 120


def test_a_bmp_goes_through_the_pillow_fallback(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (400, 300), (10, 120, 30)).save(tmp_path / "old.bmp")
    result = render_image_blocking(tmp_path / "old.bmp", outputs(tmp_path))
    assert (result.width, result.height, result.loader) == (400, 300, "pillow")
    assert pyvips.Image.new_from_file(str(tmp_path / "thumbnail.webp")).height == 250


def test_a_raw_file_uses_its_embedded_preview_and_the_raw_orientation(test_assets: Path, tmp_path: Path) -> None:
    """No libraw here: a DNG's pixels come from its embedded JPEG, as Immich's `extractEmbedded` path does."""
    embedded = tmp_path / "embedded.jpg"
    pyvips.Image.thumbnail(str(test_assets / "albums/nature/prairie_falcon.jpg"), 320).jpegsave(str(embedded))
    carrier = tmp_path / "carrier.jpg"
    shutil.copyfile(test_assets / "albums/nature/el_torcal_rocks.jpg", carrier)
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-ThumbnailImage<={embedded}", str(carrier)], check=True)
    dng = carrier.rename(tmp_path / "camera.dng")
    result = render_image_blocking(dng, outputs(tmp_path), orientation_hint=6)
    assert result.loader == "exiftool-preview"
    assert (result.width, result.height) == (213, 320)  # the embedded image, turned upright
    assert pyvips.Image.new_from_file(str(tmp_path / "preview.jpeg")).width == 213


BAD_INPUT = [
    ("empty.jpg", b"", CorruptMedia),
    ("truncated.jpg", "truncate", CorruptMedia),
    ("garbage.jpg", b"\x00\x01not an image at all" * 100, UnsupportedMedia),
    ("png-named.jpg", "png", None),  # wrong extension, real PNG: decoded by content
    ("corrupt.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\xff" * 500,
     (CorruptMedia, UnsupportedMedia)),
    ("raw-without-preview.nef", b"II*\x00" + b"\x00" * 400, UnsupportedMedia),
]


@pytest.mark.parametrize(("name", "content", "error"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_fails_with_a_clear_reason_and_writes_nothing(
    test_assets: Path, tmp_path: Path, name: str, content: bytes | str, error: type[Exception] | None
) -> None:
    source = tmp_path / name
    if content == "truncate":
        data = (test_assets / "albums/text/craft-beer.jpg").read_bytes()
        source.write_bytes(data[: len(data) // 3])
    elif content == "png":
        shutil.copyfile(test_assets / "formats/png/density_plot.png", source)
    else:
        assert isinstance(content, bytes)
        source.write_bytes(content)
    out = tmp_path / "out"
    if error is None:
        render_image_blocking(source, outputs(out))
        assert (out / "preview.jpeg").is_file()
        return
    with pytest.raises(error) as raised:
        render_image_blocking(source, outputs(out))
    assert str(raised.value)
    assert not out.exists() or not any(out.iterdir())


def test_a_100_megapixel_png_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = png_bomb(tmp_path / "bomb.png", 10_000, 10_000)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(MediaTooLarge, match="100 MP"):
        render_image_blocking(bomb, outputs(tmp_path / "out"), limits=ImageLimits(max_pixels=50_000_000))


def test_thumbhash_round_trips_as_base64(test_assets: Path, tmp_path: Path) -> None:
    result = render_image_blocking(test_assets / "formats/webp/denali.webp", outputs(tmp_path))
    assert base64.b64decode(result.thumbhash_b64) == result.thumbhash


def _generated(kind: str, path: Path) -> Path:
    from PIL import Image

    scene = pyvips.Image.xyz(640, 480)
    rgb = (scene[0] / 3).bandjoin([scene[1] / 2, (scene[0] + scene[1]) / 5]).cast("uchar")
    if kind == "tiff":
        rgb.tiffsave(str(path), compression="deflate")
    elif kind == "gif":
        frames = [Image.new("RGB", (640, 480), (40 * n, 90, 200)) for n in range(3)]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    elif kind == "png16":
        (rgb.cast("ushort") * 256).copy(interpretation="rgb16").pngsave(str(path))
    elif kind == "cmyk":
        Image.new("CMYK", (640, 480), (0, 128, 255, 0)).save(path, "JPEG")
    elif kind == "grey-alpha":
        rgb[0].bandjoin(scene[0].cast("uchar")).copy(interpretation="b-w").pngsave(str(path))
    return path


@pytest.mark.parametrize(("kind", "name"), [
    ("tiff", "scan.tif"), ("gif", "anim.gif"), ("png16", "deep.png"), ("cmyk", "print.jpg"), ("grey-alpha", "mask.png"),
])
def test_generated_formats_come_out_as_8_bit_srgb(tmp_path: Path, kind: str, name: str) -> None:
    source = _generated(kind, tmp_path / name)
    result = render_image_blocking(source, outputs(tmp_path / "out"))
    assert (result.width, result.height) == (640, 480)
    preview = pyvips.Image.new_from_file(str(tmp_path / "out/preview.jpeg"))
    thumb = pyvips.Image.new_from_file(str(tmp_path / "out/thumbnail.webp"))
    assert (preview.width, preview.height, preview.bands, preview.format) == (640, 480, 3, "uchar")
    assert (thumb.width, thumb.height) == (333, 250)
    assert thumb.format == "uchar" and thumb.bands in (3, 4)
