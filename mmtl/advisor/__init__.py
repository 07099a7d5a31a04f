"""The transfer advisor: measure the data and the pretrained features, recommend a strategy.

Layers: :mod:`.data` (datasets, counts), :mod:`.probe` (stage features, ridge probe),
:mod:`.strategies` (mmtl's strategies as overrides), :mod:`.recommend` (the rules),
:mod:`.advisor` (the steps together, config writing, plot), :mod:`.trials` (successive
halving of short runs).
"""

from .recommend import Measurements, Recommendation, recommend
from .strategies import STRATEGIES, Strategy, StrategyContext

__all__ = [
    'Measurements',
    'Recommendation',
    'STRATEGIES',
    'Strategy',
    'StrategyContext',
    'recommend',
]
