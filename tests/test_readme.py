"""The README's figures and links: every image it shows exists, no image in docs/img is orphaned."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
IMG_DIR = ROOT / "docs" / "img"
MAX_IMAGE_BYTES = 250_000

# ![alt](target "title") and <img src="target">; links [text](target) but not images.
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _local(target: str) -> str | None:
    """The repository path of a relative link target; None for URLs and pure anchors."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return unquote(parts.path)


def _image_targets(text: str) -> list[str]:
    return MARKDOWN_IMAGE.findall(text) + HTML_IMAGE.findall(text)


def _referenced_images() -> set[Path]:
    return {(ROOT / path).resolve() for target in _image_targets(_text()) if (path := _local(target))}


def test_readme_shows_images() -> None:
    assert _image_targets(_text()), "README.md shows no image"


def test_every_readme_image_exists_in_the_repository() -> None:
    for target in _image_targets(_text()):
        path = _local(target)
        assert path is not None, f"README image {target!r} is not a file of the repository (no remote images)"
        resolved = (ROOT / path).resolve()
        assert resolved.is_relative_to(ROOT), f"README image {target!r} points outside the repository"
        assert resolved.is_file(), f"README image {target!r} does not exist"


def test_no_orphan_image_in_docs_img() -> None:
    referenced = _referenced_images()
    orphans = sorted(p.relative_to(ROOT).as_posix() for p in IMG_DIR.glob("*.png") if p.resolve() not in referenced)
    assert not orphans, f"images in docs/img not shown in README.md: {orphans}"


@pytest.mark.parametrize("image", sorted(IMG_DIR.glob("*.png")), ids=lambda p: p.name)
def test_readme_images_are_small_pngs(image: Path) -> None:
    data = image.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{image.name} is not a PNG"
    assert len(data) <= MAX_IMAGE_BYTES, f"{image.name}: {len(data)} bytes, over {MAX_IMAGE_BYTES}"
    assert b"Software" not in data, f"{image.name} carries a Software chunk (render with tools/readme_figures.py)"


def test_readme_mentions_every_notebook() -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 3
    text = _text()
    missing = [p.relative_to(ROOT).as_posix() for p in notebooks if p.relative_to(ROOT).as_posix() not in text]
    assert not missing, f"README.md does not mention {missing}"


def test_readme_relative_links_resolve() -> None:
    for target in MARKDOWN_LINK.findall(_text()):
        path = _local(target)
        if path is None:
            continue
        assert (ROOT / path).exists(), f"README link {target!r} names no file"
