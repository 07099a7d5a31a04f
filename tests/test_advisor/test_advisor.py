"""The strategy advisor: probe, rules, config writing, successive halving, and a real run."""

import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmtl_testing import NO_WORKERS, import_tool, tool_status
from mmtl_testing.configs import write_tiny_config

from mmtl.advisor.advisor import candidate_list
from mmtl.advisor.data import DataProfile, cap_per_class
from mmtl.advisor.probe import ridge_probe_predictions
from mmtl.advisor.recommend import Measurements, recommend
from mmtl.advisor.strategies import ADVISED, StrategyContext, overrides
from mmtl.advisor.trials import Candidate, leaderboard, rung_epochs, successive_halving
from mmtl.config.access import write_child_config

STAGES = ['backbone.conv1', 'backbone.layer1', 'backbone.layer2', 'backbone.layer3']


def profile(per_class: int, classes: int = 5) -> DataProfile:
    return DataProfile([str(i) for i in range(classes)], [per_class] * classes, 50, 1.0, False)


def ridge_probe_accuracy(train_x, train_y, val_x, val_y, num_classes) -> float:
    return 100.0 * (ridge_probe_predictions(train_x, train_y, val_x, num_classes) == val_y).mean()


def test_ridge_probe_separates_informative_features_not_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    centres = rng.normal(0, 3, size=(4, 16))
    informative = centres[labels] + rng.normal(0, 1, size=(120, 16))
    noise = rng.normal(0, 1, size=(120, 16))
    train, val = np.arange(120) % 2 == 0, np.arange(120) % 2 == 1
    good = ridge_probe_accuracy(informative[train], labels[train], informative[val], labels[val], 4)
    chance = ridge_probe_accuracy(noise[train], labels[train], noise[val], labels[val], 4)
    assert good > 90 and chance < 50, (good, chance)
    # Wider than the training set: the dual form gives the same predictions.
    wide = np.concatenate([informative, rng.normal(0, 1, size=(120, 200))], axis=1)
    assert ridge_probe_accuracy(wide[train], labels[train], wide[val], labels[val], 4) > 80


def test_cap_per_class_keeps_at_most_k_of_each_class():
    labels = np.array([0] * 10 + [1] * 3)
    kept = cap_per_class(labels, 4, seed=0)
    assert sorted(labels[kept].tolist()) == [0] * 4 + [1] * 3


@pytest.mark.parametrize(
    'per_class, pretrained, random, expected',
    [
        (10, [60, 80, 90, 97], [60, 60, 50, 40], 'linear-probe'),  # small, similar
        (300, [60, 80, 90, 97], [60, 60, 50, 40], 'partial-ft'),  # medium, similar
        (5000, [60, 80, 90, 97], [60, 60, 50, 40], 'full-ft'),  # large, similar
        (10, [50, 60, 70, 66], [50, 55, 45, 30], 'full-ft-1x'),  # small, helpful, not similar
        (5000, [50, 60, 70, 66], [50, 55, 45, 30], 'full-ft'),  # large, helpful, not similar
        (300, [50, 80, 70, 66], [50, 55, 45, 30], 'partial-ft'),  # medium, early stage best
        (300, [50, 55, 60, 40], [50, 60, 45, 40], 'scratch'),  # pretraining gains < 3 points
        (10, [100, 100, 100, 100], [100, 100, 90, 80], 'linear-probe'),  # saturated: last gains
    ],
)
def test_rules_place_the_data_in_the_matrix(per_class, pretrained, random, expected):
    meas = Measurements(STAGES, [float(a) for a in pretrained], [float(a) for a in random], 5)
    rec = recommend(profile(per_class), meas, epochs=30)
    assert rec.strategy == expected, rec.reasons
    if expected == 'partial-ft' and pretrained[1] == 80 and pretrained[3] == 66:
        assert rec.cut == 1  # cut at the stage that probes best
    assert any(f'{pretrained[-1]:.1f} %' in r for r in rec.reasons)  # the figures are named


def test_strategy_config_inherits_the_user_config(tmp_path):
    user = tmp_path / 'user.py'
    user.write_text(
        "model = dict(type='ImageClassifier', head=dict(num_classes=3))\n"
        "optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.004))\n"
        'train_cfg = dict(max_epochs=30)\n'
    )
    ctx = StrategyContext(lr=0.004, adaptive=True, stages=STAGES, cut=1, epochs=40)
    out = write_child_config(
        str(tmp_path / 'rec.py'),
        str(user),
        overrides('partial-ft', ctx),
        {'data_root': '/data/x', 'model.head.num_classes': 5},
        ('a comment',),
    )
    cfg = Config.fromfile(out)
    assert cfg.model.type == 'TransferClassifier'
    assert cfg.model.frozen_modules == ['backbone.conv1', 'backbone.layer1']
    assert cfg.model.head.num_classes == 5 and cfg.data_root == '/data/x'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'  # the user's optimizer stays
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.004)
    assert cfg.train_cfg.max_epochs == 40
    probe = overrides('linear-probe', ctx)
    assert probe['optim_wrapper']['optimizer']['lr'] == pytest.approx(0.004 * 10 * 0.3)
    assert overrides('scratch', ctx)['load_from'] is None


def test_successive_halving_keeps_the_better_half_and_ranks_the_survivor_first(tmp_path):
    assert rung_epochs(8, 3) == [2, 4, 8] and rung_epochs(1, 3) == [1, 1, 1]
    quality = {'a': 0.5, 'b': 0.9, 'c': 0.7, 'd': None}  # d fails
    cands = [Candidate(n, n, 0.1, {}) for n in quality]
    ran = []

    def write_config(cand, epochs, path):
        return f'{cand.name}:{epochs}'

    def run(config, trial_dir):
        ran.append(config)
        return 1 if config.startswith('d') else 0

    def score(trial_dir):
        name = osp.basename(trial_dir).split('_', 1)[1]
        rung = int(osp.basename(trial_dir)[4])
        return 100 * quality[name] + rung  # longer runs score a little higher

    results = successive_halving(
        cands, 4, str(tmp_path), write_config, run=run, score=score, log=lambda s: None
    )
    assert ran == ['a:1', 'b:1', 'c:1', 'd:1', 'b:2', 'c:2', 'b:4']
    board = leaderboard(results)
    assert [r.name for r in board] == ['b', 'c', 'a', 'd']
    assert board[0].epochs == 4 and board[-1].top1 is None


def test_candidates_start_with_the_recommendation():
    ctx = StrategyContext(lr=0.01, adaptive=False, stages=STAGES, cut=1, epochs=10)
    names = [c.name for c in candidate_list('linear-probe', ctx, 6)]
    assert names == [
        'linear-probe',
        'full-ft-1x',
        'full-ft',
        'scratch',
        'partial-ft',
        'linear-probe_low-lr',
    ]


@pytest.fixture(scope='module')
def pretrained_digits(tmp_path_factory):
    """Digits 0-4 -> a tiny ResNet's backbone (3 epochs), and digits 5-9 to advise on."""
    from experiments.fewshot import SOURCE_DIGITS, TARGET_DIGITS, pretrain_source_model

    from mmtl.datasets.digits import write_digits_folder

    root = str(tmp_path_factory.mktemp('advisor_digits'))
    write_digits_folder(osp.join(root, 'src'), seed=0, keep=SOURCE_DIGITS)
    write_digits_folder(osp.join(root, 'tgt'), seed=0, keep=TARGET_DIGITS)
    config = write_tiny_config(root)
    checkpoint = pretrain_source_model(config, osp.join(root, 'src'), osp.join(root, 'pre'), 3)
    return config, osp.join(root, 'tgt'), checkpoint


@pytest.mark.slow
def test_advisor_on_digits_names_a_strategy_and_pretrained_beats_random(
    tmp_path, pretrained_digits, one_thread, capsys
):
    config, target, checkpoint = pretrained_digits
    work_dir = str(tmp_path / 'advice')
    options = [f'data_root={target}', f'load_from={checkpoint}', 'model.head.num_classes=5']
    tool = import_tool('tools/advise.py')
    assert tool.main([config, '--work-dir', work_dir, '--cfg-options', *options]) == 0
    out = capsys.readouterr().out
    with open(osp.join(work_dir, 'advice.json')) as f:
        advice = json.load(f)
    sim = advice['similarity']
    assert sim['stages'] == [
        f'backbone.{s}' for s in ('conv1', 'layer1', 'layer2', 'layer3', 'layer4')
    ]
    # Features learnt on digits 0-4 separate 5-9 better than random ones, most at the top.
    assert sim['pretrained_top1'][-1] > sim['random_top1'][-1] + 10, sim
    assert max(sim['pretrained_top1']) > max(sim['random_top1']), sim
    rec = advice['recommendation']
    assert rec['strategy'] in ADVISED
    assert f'recommended strategy: {rec["strategy"]}' in out
    assert advice['data']['train_counts'] == [
        len(os.listdir(osp.join(target, 'train', str(d)))) for d in range(5, 10)
    ]
    cfg = Config.fromfile(osp.join(work_dir, 'recommended_config.py'))
    assert cfg.data_root == target and cfg.model.head.num_classes == 5
    assert list(cfg.model.get('frozen_modules', [])) == rec['frozen']
    assert osp.getsize(osp.join(work_dir, 'similarity.png')) > 1000


@pytest.mark.slow
def test_advisor_trial_trains_in_its_own_process_and_writes_the_winner(
    tmp_path, pretrained_digits, capsys
):
    config, target, checkpoint = pretrained_digits
    work_dir = str(tmp_path / 'advice')
    options = [
        f'data_root={target}',
        f'load_from={checkpoint}',
        'model.head.num_classes=5',
        'log_level=WARNING',
    ] + NO_WORKERS
    tool = import_tool('tools/advise.py')
    argv = [config, '--work-dir', work_dir, '--no-progress', '--max-per-class', '20']
    assert tool.main(argv + ['--trials', '1', '--budget', '1', '--cfg-options', *options]) == 0
    out = capsys.readouterr().out
    with open(osp.join(work_dir, 'leaderboard.json')) as f:
        board = json.load(f)
    with open(osp.join(work_dir, 'advice.json')) as f:
        strategy = json.load(f)['recommendation']['strategy']
    assert [r['name'] for r in board] == [strategy]  # one trial: the recommendation
    assert 0 <= board[0]['top1'] <= 100 and board[0]['epochs'] == 1
    assert f'| 1 | {strategy} | 0 | 1 | {board[0]["top1"]:.2f} % |' in out
    best = Config.fromfile(osp.join(work_dir, 'best_config.py'))
    assert best.data_root == target
    assert osp.isfile(osp.join(board[0]['work_dir'], 'trial_output.log'))
    assert osp.getsize(osp.join(work_dir, 'leaderboard.png')) > 1000


def test_stage_cut_freezes_a_resnet_stem_with_its_batchnorm(tmp_path):
    from mmtl.advisor.advisor import build_model
    from mmtl.advisor.probe import backbone_stages
    from mmtl.analysis.feature_hooks import block_groups

    model = build_model(Config.fromfile(write_tiny_config(str(tmp_path))), pretrained=False)
    stages = backbone_stages(model)
    assert stages == ['backbone.conv1'] + [f'backbone.layer{i}' for i in range(1, 5)]
    ctx = StrategyContext(0.01, False, stages, cut=1, epochs=1, groups=block_groups(model))
    frozen = overrides('partial-ft', ctx)['model']['frozen_modules']
    assert frozen == [
        'backbone.conv1',
        'backbone.bn1',
        'backbone.relu',
        'backbone.maxpool',
        'backbone.layer1',
    ]


def test_advisor_model_normalises_as_init_model_does(tmp_path):
    """The top-level data_preprocessor reaches the advisor's model as it reaches init_model's."""
    from mmtl.advisor.advisor import build_model
    from mmtl.apis import init_model

    cfg = Config.fromfile(write_tiny_config(str(tmp_path)))
    cfg.data_preprocessor = dict(
        cfg.data_preprocessor, mean=[10.0, 20.0, 30.0], std=[2.0, 3.0, 4.0]
    )

    def normalisation(model) -> list:
        preprocessor = model.data_preprocessor
        return [getattr(preprocessor, key, None) for key in ('mean', 'std')]

    expected = [cfg.data_preprocessor.mean, cfg.data_preprocessor.std]
    api = normalisation(init_model(cfg))
    assert [t.flatten().tolist() for t in api] == expected
    advisor = normalisation(build_model(cfg, pretrained=False))
    assert None not in advisor and [t.flatten().tolist() for t in advisor] == expected


def test_lp_ft_probes_first_then_unfreezes_the_backbone_at_a_lower_lr():
    from experiments.fewshot import STRATEGIES as FEWSHOT_STRATEGIES

    cfg = Config(
        dict(
            model=dict(type='ImageClassifier'),
            optim_wrapper=dict(optimizer=dict(lr=0.01)),
            train_cfg=dict(max_epochs=40),
        )
    )
    FEWSHOT_STRATEGIES['lp-ft'](cfg, 'pretrained.pth')
    assert cfg.load_from == 'pretrained.pth'
    assert cfg.model.type == 'TransferClassifier' and cfg.model.frozen_modules == ['backbone']
    assert cfg.custom_hooks == [
        dict(type='GradualUnfreezeHook', schedule=[dict(epoch=11, modules=['backbone'])])
    ]
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult == 0.1


def test_advise_without_load_from_is_one_clear_error_before_any_work(digits_root, capsys):
    tool = import_tool('tools/advise.py')
    argv = ['mobilenet-v2_digits.py', '--cfg-options', f'data_root={digits_root}']
    assert tool_status(tool.main, argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'load_from is not set' in err[0], err
