# Strategy "linear probe": the pretrained backbone is a fixed feature extractor (no gradients,
# BatchNorm in eval mode); only the new head trains. Read by the *_linear-probe_fruit.py
# configs, the few-shot experiment and the advisor (mmtl.utils.strategies.load_strategy).
# The lr and weight decay belong to the recipe (its optimizer and batch), not to the strategy.
strategy = dict(
    name='linear-probe',
    model=dict(type='TransferClassifier', frozen_modules=['backbone']),
)
