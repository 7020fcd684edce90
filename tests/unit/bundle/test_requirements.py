import pytest

from axon.bundle import RequirementsInvalidError
from axon.bundle.requirements import parse_requirements, requirements_text

SHA = "sha256:" + "ab" * 32

ACCEPTED = {
    "empty": ("", ()),
    "blank lines and comments": ("\n# pinned\n\n   # indented comment\n", ()),
    "inline comment": ("numpy>=1.26  # arrays\n", ("numpy>=1.26",)),
    "whitespace normalized": ("scikit-learn >= 1.4 , <2\n", ("scikit-learn<2,>=1.4",)),
    "extras and markers": (
        'uvicorn[standard]==0.30 ; python_version >= "3.11"',
        ('uvicorn[standard]==0.30; python_version >= "3.11"',),
    ),
    "hash option, both spellings": (
        f"torch==2.3 --hash={SHA} \\\n    --hash {SHA}\n    # via -r requirements.in\n",
        (f"torch==2.3 --hash={SHA} --hash={SHA}",),
    ),
    "BOM and CRLF": ("\ufeffnumpy\r\npandas\r\n", ("numpy", "pandas")),
    "order kept": ("b\na\n", ("b", "a")),
}


@pytest.mark.parametrize(("text", "expected"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_requirements_are_normalized(text: str, expected: tuple[str, ...]) -> None:
    assert parse_requirements(text.encode()) == expected


def test_the_canonical_text_is_one_line_each() -> None:
    assert requirements_text(("numpy", "pandas==2")) == "numpy\npandas==2\n"
    assert requirements_text(()) == ""


REFUSED = {
    "not PEP 508": ("numpy\nnot a requirement!!\n", 2, "not a requirement!!"),
    "nested file": ("-r other.txt", 1, "-r"),
    "constraints file": ("numpy\n-c constraints.txt", 2, "-c"),
    "editable": ("-e ./mypkg", 1, "-e"),
    "editable vcs": ("--editable git+https://example.com/x.git#egg=x", 1, "--editable"),
    "index url": ("--index-url https://evil.example/simple\nnumpy", 1, "--index-url"),
    "extra index": ("-i https://evil.example/simple", 1, "-i"),
    "find links": ("--find-links=/tmp/wheels", 1, "--find-links"),
    "trusted host": ("--trusted-host evil.example", 1, "--trusted-host"),
    "option after requirement": ("numpy --pre", 1, "--pre"),
    "bad hash": ("numpy --hash=md5:abc", 1, "bad --hash"),
    "direct url": ("pkg @ https://example.com/pkg-1.0.whl", 1, "direct URL"),
    "local path": ("./wheels/pkg-1.0-py3-none-any.whl", 1, "pkg-1.0"),
    "local archive by name": ("mypkg.tar.gz", 1, "local archives"),
    "continued bad line": ("numpy\nfoo \\\n  >>1\n", 2, "foo"),
    "not utf-8": (b"numpy\n\xff\xfe\n", None, "not UTF-8"),
}


@pytest.mark.parametrize(("text", "line", "words"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_lines_are_named_by_number_and_content(text: str | bytes, line: int | None, words: str) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    with pytest.raises(RequirementsInvalidError) as caught:
        parse_requirements(data)
    assert caught.value.code == "bundle.requirements_invalid"
    assert words in caught.value.message and "\n" not in caught.value.message
    if line is not None:
        assert caught.value.message.startswith(f"requirements.txt line {line}:")
