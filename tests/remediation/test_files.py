"""Evidence files: the type comes from the bytes; disguises and zip bombs are refused."""
from __future__ import annotations

import hashlib
import secrets

import pytest

from survey.remediation import files
from tests.remediation import samples


@pytest.mark.parametrize("make, kind", [
    (samples.pdf, "application/pdf"),
    (lambda: samples.PNG, "image/png"),
    (lambda: samples.JPEG, "image/jpeg"),
    (samples.docx, files.DOCX),
    (samples.xlsx, files.XLSX),
    (lambda: samples.zip_of({"mimetype": files.ODT.encode(), "content.xml": b"<office/>"}), files.ODT),
])
def test_real_documents_are_recognised_from_their_bytes(make, kind):
    assert files.sniff(make()).content_type == kind


@pytest.mark.parametrize("data, words", [
    (samples.EXE, "chương trình"),
    (samples.HTML, "HTML"),
    (samples.SVG, "SVG"),
    (b"  <svg><script>x</script></svg>", "SVG"),
    (b"just text", "Không nhận dạng"),
    (b"", "rỗng"),
    (samples.zip_of({"a.txt": b"hello"}), "không phải văn bản"),
    (samples.zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}), "không phải văn bản"),
    (b"PK\x03\x04garbage", "hỏng"),
])
def test_disguises_are_refused_with_a_vietnamese_message(data, words):
    with pytest.raises(files.Refused) as refused:
        files.sniff(data)
    assert words in str(refused.value)


def test_zip_bomb_is_refused_by_what_it_really_inflates_to():
    bomb = samples.zip_bomb(8 * 1024 * 1024)
    assert len(bomb) < 64 * 1024  # 8 MB inside: refused by its ratio, whatever the total limit
    with pytest.raises(files.Refused, match="bom zip"):
        files.sniff(bomb, max_unzipped=10**12)
    # An ordinary ratio but more than the total limit (test-sized here; EVIDENCE_MAX_UNZIPPED).
    big = samples.zip_of({"[Content_Types].xml": b"<Types/>",
                          "word/document.xml": secrets.token_hex(3 * 1024 * 1024).encode()})
    with pytest.raises(files.Refused, match="không phải văn bản"):  # not a bomb by its ratio...
        files.sniff(big, max_unzipped=10**12)
    with pytest.raises(files.Refused, match="bom zip"):
        files.sniff(big, max_unzipped=4 * 1024 * 1024)


def test_too_many_entries_and_macros_are_refused():
    many = samples.zip_of({f"x/{i}.xml": b"<a/>" for i in range(files.MAX_ENTRIES + 1)})
    with pytest.raises(files.Refused, match="quá nhiều"):
        files.sniff(many)
    with pytest.raises(files.Refused, match="macro"):
        files.sniff(samples.macro_docx())


def test_store_writes_atomically_under_a_random_name(tmp_path):
    data = samples.pdf()
    first, second = files.store(data, tmp_path), files.store(data, tmp_path)
    assert first.stored_name != second.stored_name
    assert first.sha256 == hashlib.sha256(data).hexdigest() and first.size == len(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.stored_name, second.stored_name])
    assert files.path_of(tmp_path, first.stored_name).read_bytes() == data
    with pytest.raises(ValueError):
        files.path_of(tmp_path, "../../etc/passwd")


def test_download_name_keeps_the_stem_and_takes_the_real_extension():
    assert files.safe_name("C:\\Users\\a\\biên bản.exe", "pdf") == "biên bản.pdf"
    assert files.safe_name("../../x\"<>.html", "png") == "x.png"
    assert files.safe_name(None, "pdf") == "ho-so-kiem-chung.pdf"
