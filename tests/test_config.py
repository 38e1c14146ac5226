"""The typed model settings (`ablate.models.config`): they build the models the
keyword constructors built before them, value for value; checkpoints written before them
load; a bad value is one line naming its key; every YAML key is a field."""

import json

import pytest
import torch
from omegaconf import OmegaConf

from ablate import translate
from ablate.data.vocab import SPECIALS
from ablate.models.config import RNNConfig, TransformerConfig
from ablate.models.rnn import RNNEncoderDecoder
from ablate.models.transformer import Transformer

from conftest import ROOT

# Seven tiny models written by the code before these configs (at commit ac94ea1):
# their settings as checkpoints stored them, their seeded weights and teacher-forced
# logits on one batch.
BEFORE = torch.load(ROOT / "tests" / "data" / "models_before_config.pt", weights_only=True)
CASES = BEFORE["cases"]
FAMILIES = {"rnn": (RNNConfig, RNNEncoderDecoder), "transformer": (TransformerConfig, Transformer)}


def _family(settings):
    """The config class of stored settings: a `_target_` is the Transformer's."""
    return TransformerConfig if "_target_" in settings else RNNConfig


@pytest.mark.parametrize("name", CASES)
def test_the_same_seed_builds_the_same_model_as_before(name):
    """Parameters are created in the same order, so seeded weights and outputs are
    bit-identical to the keyword constructors', and the stored form is unchanged but
    for settings added since (`tie_embeddings`), at their defaults."""
    case = CASES[name]
    torch.manual_seed(case["seed"])
    model = _family(case["settings"]).from_record(case["settings"]).build().eval()
    state = model.state_dict()
    assert list(state) == list(case["state_dict"])
    for key, value in case["state_dict"].items():
        assert torch.equal(state[key], value), key
    with torch.no_grad():
        logits, weights = model(BEFORE["src"], BEFORE["src_len"], BEFORE["tgt_in"])
    assert torch.equal(logits, case["logits"])
    assert (weights is None) == (case["weights"] is None)
    if weights is not None:
        assert torch.equal(weights, case["weights"])
    record = model.config.record()
    assert {k: record[k] for k in case["settings"]} == case["settings"]
    # Settings added since take their defaults, which build the model as before.
    assert set(record) - set(case["settings"]) == {"tie_embeddings"}
    assert record["tie_embeddings"] is False


def _vocab_state(size: int) -> dict:
    return {"itos": [*SPECIALS, *(f"w{i}" for i in range(size - len(SPECIALS)))]}


@pytest.mark.parametrize("name", ["rnn-lstm-bahdanau", "rnn-feed-mult", "tf-post-additive"])
def test_a_checkpoint_in_the_old_form_loads(tmp_path, name):
    """A checkpoint as runs wrote it before the configs (the settings as the old
    `self.config` dict, the weights under `model.`): `translate.load` rebuilds its model
    with those weights and the same outputs."""
    case = CASES[name]
    settings = case["settings"]
    path = tmp_path / "old.ckpt"
    torch.save(
        {
            "state_dict": {f"model.{k}": v for k, v in case["state_dict"].items()},
            "ablate": {"model": settings},
            "Seq2SeqData": {
                "src_vocab": _vocab_state(settings["src_vocab_size"]),
                "tgt_vocab": _vocab_state(settings["tgt_vocab_size"]),
            },
        },
        path,
    )
    model = translate.load(path).model
    assert isinstance(model, FAMILIES[model.config.family][1])
    assert model.config == _family(settings).from_record(settings)
    with torch.no_grad():
        logits, _ = model(BEFORE["src"], BEFORE["src_len"], BEFORE["tgt_in"])
    # translate.load speeds the model up for a CPU: the same values up to rounding.
    torch.testing.assert_close(logits, case["logits"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", [RNNConfig, TransformerConfig])
def test_the_stored_form_reads_back_and_names_the_family(config):
    """`record()` → `from_record` is the identity; only the Transformer's names its
    class (a record without `_target_` is the RNN's, which older code reads); the
    results.json entry is the record with the family in place of the class."""
    made = config(src_vocab_size=9, tgt_vocab_size=7, attention="dot", layers=3)
    record = made.record()
    assert config.from_record(record) == made
    assert ("_target_" in record) == (config is TransformerConfig)
    entry = made.results()
    assert entry == {"family": config.family, **{k: v for k, v in record.items() if k[0] != "_"}}
    assert json.loads(json.dumps(entry)) == entry


@pytest.mark.parametrize(
    ("config", "bad", "message"),
    [
        (RNNConfig, dict(hidden=0), "model.hidden must be a positive integer, got 0"),
        (RNNConfig, dict(embed=-1), "model.embed must be a positive integer, got -1"),
        (RNNConfig, dict(hidden="abc"), "model.hidden must be a positive integer, got 'abc'"),
        (RNNConfig, dict(embed=True), "model.embed must be a positive integer, got True"),
        (RNNConfig, dict(hidden=7), "model.hidden must be even (two encoder directions), got 7"),
        (RNNConfig, dict(rnn="transformer"), "unknown model.rnn 'transformer'; choose one of"),
        (RNNConfig, dict(dropout=1.0), "model.dropout must be in [0, 1), got 1.0"),
        (RNNConfig, dict(dropout="abc"), "model.dropout must be in [0, 1), got 'abc'"),
        (RNNConfig, dict(decoder="transformer"), "unknown model.decoder 'transformer'; choose"),
        (RNNConfig, dict(input_feeding="yes"), "model.input_feeding must be true or false"),
        (
            RNNConfig,
            dict(decoder="bahdanau", input_feeding=True),
            "model.input_feeding=true is for model.decoder=luong",
        ),
        (TransformerConfig, dict(d_model=18), "model.d_model=18 must be divisible by model.heads"),
        (TransformerConfig, dict(d_model=True), "model.d_model must be a positive integer"),
        (TransformerConfig, dict(heads=0), "model.heads must be a positive integer, got 0"),
        (TransformerConfig, dict(align_layer=2), "model.align_layer must be a decoder layer"),
        (TransformerConfig, dict(align_layer=-3), "model.align_layer must be a decoder layer"),
        (TransformerConfig, dict(align_layer=True), "model.align_layer must be a decoder layer"),
        (TransformerConfig, dict(norm="sandwich"), "unknown model.norm 'sandwich'; choose one"),
        (TransformerConfig, dict(dropout=1.0), "model.dropout must be in [0, 1), got 1.0"),
        (TransformerConfig, dict(fused="yes"), "model.fused must be true or false, got 'yes'"),
        (TransformerConfig, dict(src_vocab_size=0), "model.src_vocab_size must be a positive"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_key(config, bad, message):
    """The check runs once, when the settings are made, before any layer exists; the
    line is what the CLI prints (docs/errors.md). Sizes reject True (the two checks
    before these configs disagreed on it)."""
    sizes = dict(d_model=16, heads=4, layers=2) if config is TransformerConfig else {}
    with pytest.raises(ValueError) as e:
        config(**(dict(src_vocab_size=9, tgt_vocab_size=9) | sizes | bad))
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


@pytest.mark.parametrize("option", ["default", "big", "transformer"])
def test_every_key_of_a_model_option_is_a_field_of_its_config(option):
    """`model.KEY=…` on the command line is the config's field `KEY` (one word for one
    thing); the option's defaults are valid settings."""
    from hydra.utils import instantiate

    from conftest import compose

    cfg = compose([f"model={option}"])
    target = {"RNNConfig": RNNConfig, "TransformerConfig": TransformerConfig}
    config = target[cfg.model._target_.rpartition(".")[2]]
    keys = {k for k in OmegaConf.to_container(cfg.model) if not k.startswith("_")}
    assert keys <= set(config.__dataclass_fields__), keys - set(config.__dataclass_fields__)
    made = instantiate(cfg.model)(src_vocab_size=9, tgt_vocab_size=9, attention="dot")
    assert isinstance(made, config)
    assert {k: getattr(made, k) for k in keys if k != "self_attention"} == {
        k: cfg.model[k] for k in keys if k != "self_attention"
    }
