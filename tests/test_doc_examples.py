"""Every complete example file in the README and the module docstrings is valid (issue 32: the README's
production example had a firm whose shares summed to 1.1)."""

import re
from pathlib import Path

import pytest

import jplan.economies.io as io_module
from jplan.economies import loads_economy
from jplan.economies.divisions import _from_dict
from jplan.economies.rudra_io import loads_rudra
from jplan.economies._format import parse_toml

ROOT = Path(__file__).resolve().parents[1]


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.S)


def complete(block: str) -> bool:
    """A whole file, not a fragment (fragments say "as above" or have "# ..." lines)."""
    return (block.lstrip().startswith("kind = ") and "as above" not in block
            and not re.search(r"^\s*#\s*\.\.\.", block, flags=re.M))


def _examples():
    out = []
    for block in toml_blocks((ROOT / "README.md").read_text(encoding="utf-8")):
        if complete(block):
            out.append(("README", block))
    for block in re.findall(r"```toml\n(.*?)```", io_module.__doc__, flags=re.S):
        out.append(("jplan.economies.io", block))
    return out


EXAMPLES = _examples()


def test_the_examples_are_found():
    kinds = [parse_toml(b)["kind"] for _, b in EXAMPLES]
    assert kinds.count("production") >= 2 and "divisions" in kinds and "rudra" in kinds


@pytest.mark.parametrize("where,block", EXAMPLES, ids=[f"{w}-{i}" for i, (w, _) in enumerate(EXAMPLES)])
def test_every_example_file_loads(where, block):
    kind = parse_toml(block)["kind"]
    if kind == "production":
        loads_economy(block)
    elif kind == "divisions":
        _from_dict(parse_toml(block))
    elif kind == "rudra":
        loads_rudra(block)
    else:
        pytest.fail(f"{where}: an example of kind {kind!r} that this test does not know how to check")


def test_an_invalid_example_is_caught():
    bad = EXAMPLES[0][1].replace("[0.6, 0.3]]", "[0.7, 0.3]]")
    assert bad != EXAMPLES[0][1]
    with pytest.raises(Exception, match="sum"):
        loads_economy(bad)


def test_the_python_examples_on_the_economies_page_run(capsys):
    """docs/economies.md's Python blocks run as written (the sparse layouts' example among them)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "economies.md").read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/economies.md", "exec"), {})
    assert "[" in capsys.readouterr().out
