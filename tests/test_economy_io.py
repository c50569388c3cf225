"""Economy files: exact round trip and one-line errors naming the field for every kind of bad input."""


import jax
import numpy as np
import pytest

from jplan.economies import dumps_economy, load_economy, loads_economy, sample, save_economy
from jplan.errors import EconomyFileError

GOOD = """
kind = "production"
[resources]
names = ["labour", "land"]
endowments = [100.0, 40.0]
[goods]
names = ["grain", "steel", "cloth"]
welfare_weights = [0.5, 0.2, 0.3]
[technology]
family = "cobb-douglas"
tfp = [1.0, 1.2, 0.9]
returns_to_scale = [0.9, 0.9, 0.9]
resource_shares = [[0.6, 0.4], [0.5, 0.2], [0.7, 0.3]]
input_shares = [[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.0]]
"""


def test_design_example_loads_with_names():
    economy, labels = loads_economy(GOOD)
    assert economy.n == 3 and economy.m == 2
    assert labels.goods == ("grain", "steel", "cloth") and labels.resources == ("labour", "land")
    np.testing.assert_array_equal(economy.tfp, [1.0, 1.2, 0.9])


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_is_exact(tmp_path, seed):
    economy = sample(jax.random.PRNGKey(seed), 4, 3, returns_to_scale=(0.5, 1.4), density=0.6)
    path = tmp_path / "e.toml"
    save_economy(path, economy)
    again, labels = load_economy(path)
    for a, b in zip(jax.tree_util.tree_leaves(economy), jax.tree_util.tree_leaves(again)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert dumps_economy(again, labels) == path.read_text()


def _replace(old, new):
    assert old in GOOD, old
    return GOOD.replace(old, new)


BAD = [
    # (replacement, expected fragment of the message)
    (('endowments = [100.0, 40.0]', 'endowments = [100.0]'), "technology.resource_shares: expected shape [3, 1]"),
    (('tfp = [1.0, 1.2, 0.9]', 'tfp = [1.0, 1.2]'), "technology.tfp: expected shape [3]"),
    (('tfp = [1.0, 1.2, 0.9]', 'tfp = [1.0, 0.0, 0.9]'), "technology.tfp: must be > 0"),
    (('tfp = [1.0, 1.2, 0.9]', 'tfp = [1.0, -1.2, 0.9]'), "technology.tfp: must be > 0"),
    (('endowments = [100.0, 40.0]', 'endowments = [100.0, 0.0]'), "resources.endowments: must be > 0"),
    (('returns_to_scale = [0.9, 0.9, 0.9]', 'returns_to_scale = [0.9, 0.0, 0.9]'), "technology.returns_to_scale: must be > 0"),
    (('welfare_weights = [0.5, 0.2, 0.3]', 'welfare_weights = [0.5, -0.2, 0.3]'), "goods.welfare_weights: must be >= 0"),
    (('welfare_weights = [0.5, 0.2, 0.3]', 'welfare_weights = [0.0, 0.0, 0.0]'), "goods.welfare_weights: must not all be 0"),
    (('[0.6, 0.4], [0.5, 0.2]', '[0.6, 0.4], [0.5, 0.3]'), "row 2 of resource_shares plus row 2 of input_shares sums to"),
    (('[0.7, 0.3]]', '[0.7, -0.3]]'), "technology.resource_shares: must be >= 0"),
    (('[0.3, 0.0, 0.0]', '[0.3, nan, 0.0]'), "technology.input_shares: contains NaN or infinity"),
    (('tfp = [1.0, 1.2, 0.9]', 'tfp = [1.0, inf, 0.9]'), "technology.tfp: contains NaN or infinity"),
    (('family = "cobb-douglas"', 'family = "translog"'), "technology.family: unknown family 'translog'"),
    (('kind = "production"', 'kind = "rudra-ish"'), "kind: unknown kind"),
    (('kind = "production"', 'kind = "production"\ncolour = "red"'), "colour: unknown key"),
    (('tfp = [1.0, 1.2, 0.9]', 'tfp = [1.0, 1.2, 0.9]\nslope = 3'), "technology.slope: unknown key"),
    (('tfp = [1.0, 1.2, 0.9]\n', ''), "technology.tfp: missing"),
    (('tfp = [1.0, 1.2, 0.9]', 'tfp = "high"'), "technology.tfp: must be"),
    (('resource_shares = [[0.6, 0.4], [0.5, 0.2], [0.7, 0.3]]', 'resource_shares = [[0.6, 0.4], [0.5], [0.7, 0.3]]'), "technology.resource_shares: must be"),
    (('names = ["grain", "steel", "cloth"]', 'names = ["grain", "steel"]'), "goods.names: expected 3 names"),
    (('[0.6, 0.4], [0.5, 0.2], [0.7, 0.3]]', '[0.6, 0.4], [0.5, 0.2], [0.0, 0.0]]'), "row 3 of resource_shares plus row 3"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m for _, m in BAD])
def test_validation_errors_name_the_field(change, message):
    with pytest.raises(EconomyFileError) as err:
        loads_economy(_replace(*change))
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_no_resource_share_and_not_productive():
    text = _replace('[0.7, 0.3]]', '[0.0, 0.0]]').replace('[0.0, 0.0, 0.0]]', '[0.0, 0.0, 1.0]]')
    with pytest.raises(EconomyFileError, match="resource_shares: row 3 is all 0"):
        loads_economy(text)
    text = GOOD.replace("returns_to_scale = [0.9, 0.9, 0.9]", "returns_to_scale = [0.9, 0.9, 2.0]")
    text = text.replace("[0.7, 0.3]]", "[0.2, 0.2]]").replace("[0.0, 0.0, 0.0]]", "[0.0, 0.0, 0.6]]")
    with pytest.raises(EconomyFileError, match="not productive, the spectral radius"):
        loads_economy(text)


def test_missing_section(tmp_path):
    with pytest.raises(EconomyFileError, match=r"\[goods\]: missing section"):
        loads_economy(GOOD.replace('[goods]\nnames = ["grain", "steel", "cloth"]\nwelfare_weights = [0.5, 0.2, 0.3]\n', ""))


def test_file_errors(tmp_path):
    with pytest.raises(EconomyFileError, match="economy file not found"):
        load_economy(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = [unclosed")
    with pytest.raises(EconomyFileError, match="not valid TOML"):
        load_economy(bad)
    with pytest.raises(EconomyFileError, match="is a directory"):
        load_economy(tmp_path)
    bad.write_text(GOOD.replace("tfp = [1.0, 1.2, 0.9]", "tfp = [1.0, 0.0, 0.9]"))
    with pytest.raises(EconomyFileError, match=r"bad.toml: technology.tfp"):
        load_economy(bad)
