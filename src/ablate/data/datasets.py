"""The loaders under the module path that configs written before `ablate.data.generated`
and `ablate.data.text` existed name (`_target_: ablate.data.datasets.toy_fr`): the same
functions, so such a config (or an import of this module's public names) builds the same
corpus. New code imports from where each lives."""

from ablate.data.cache import default_cache_dir
from ablate.data.corpus import SPLITS
from ablate.data.generated import synthetic, toy_fr
from ablate.data.text import (
    CorpusError,
    check_text_settings,
    check_tokenize,
    parallel,
    text_corpus,
)

__all__ = [
    "SPLITS",
    "CorpusError",
    "check_text_settings",
    "check_tokenize",
    "default_cache_dir",
    "parallel",
    "synthetic",
    "text_corpus",
    "toy_fr",
]
