"""One load path (``load_into``): a checkpoint that does not fit the model is refused in one
line; the expected head swap of fine-tuning is one INFO line; ``init_model(CKPT)`` builds the
model from the checkpoint's model card.

The checkpoints are made here from mmtl's base models with random weights: a 3-class and a
5-class MobileNet-v2 (the digits config), a ResNet-18 (another architecture), one with a NaN.
"""

import glob
import os
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmtl_testing import (
    NO_WORKERS,
    REPO_ROOT,
    describe,
    import_tool,
    run_command,
    tool_env,
    tool_status,
)

from mmtl.apis import inference_model, init_model
from mmtl.apis.runner_setup import build_runner, prepare_train_config
from mmtl.config import load_config
from mmtl.config.model_card import CARD_KEY, card_from_config
from mmtl.engine.loading import CheckpointFitError, load_into
from mmtl.registry import MODELS
from mmtl.utils.run_args import train_parser

DIGITS_CONFIG = osp.join(REPO_ROOT, 'configs', 'mobilenet-v2_digits.py')
RESNET18 = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'resnet18.py')
CLASSES = ('0', '1', '2')


def options(digits_root, num_classes=3):
    return {'model.head.num_classes': num_classes, 'data_root': digits_root}


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory, digits_root):
    """Paths of the checkpoints the tests use (meta as mmengine's training writes it)."""
    out = tmp_path_factory.mktemp('fit')
    torch.manual_seed(0)
    paths = {}
    for name, classes in (('mbv2_3', 3), ('mbv2_5', 5)):
        cfg = load_config(DIGITS_CONFIG, options(digits_root, classes))
        model = init_model(cfg)
        card, reason = card_from_config(cfg, [str(i) for i in range(classes)])
        assert card is not None, reason
        meta = {'cfg': cfg.pretty_text, CARD_KEY: card.to_dict()}
        paths[name] = str(out / f'{name}.pth')
        torch.save({'meta': meta, 'state_dict': model.state_dict()}, paths[name])
    with DefaultScope.overwrite_default_scope('mmtl'):
        resnet = MODELS.build(Config.fromfile(RESNET18).model)
    paths['resnet18'] = str(out / 'resnet18.pth')
    torch.save({'meta': {}, 'state_dict': resnet.state_dict()}, paths['resnet18'])
    state = torch.load(paths['mbv2_3'], weights_only=True)['state_dict']
    state['backbone.layer2.0.conv.0.conv.weight'][0, 0, 0, 0] = float('nan')
    state['head.fc.bias'][1] = float('inf')
    paths['nan'] = str(out / 'nan.pth')
    torch.save({'meta': {}, 'state_dict': state}, paths['nan'])
    return paths


# --------------------------------------------------------------------------------------------
# Evaluation: init_model, tools/test.py (positional and --checkpoint), mim test, dist_test.sh
# --------------------------------------------------------------------------------------------


def test_init_model_refuses_another_head_size_in_one_short_line(ckpts, digits_root):
    with pytest.raises(CheckpointFitError) as info:
        init_model(DIGITS_CONFIG, ckpts['mbv2_5'], cfg_options=options(digits_root))
    message = str(info.value)
    assert '\n' not in message and len(message) < 800, message  # was a 10 KB key list
    assert '312 of 314 model tensors fit; 0 missing, 0 unexpected, 2 of another shape' in message
    assert 'head.fc.bias: checkpoint [5], model [3]' in message
    assert 'trained as mobilenet_v2_1x with 5 classes (its model card)' in message
    assert 'set model.head.num_classes=5' in message


def test_init_model_refuses_another_architecture_in_one_line(ckpts, digits_root):
    with pytest.raises(CheckpointFitError) as info:
        init_model(DIGITS_CONFIG, ckpts['resnet18'], cfg_options=options(digits_root))
    message = str(info.value)
    assert '0 of 314 model tensors fit; 260 missing (backbone.conv1.bn.bias' in message
    assert '\n' not in message and len(message) < 800


def test_non_finite_weights_are_refused_for_inference_naming_the_tensors(ckpts, digits_root):
    with pytest.raises(CheckpointFitError) as info:
        init_model(DIGITS_CONFIG, ckpts['nan'], cfg_options=options(digits_root))
    message = str(info.value)
    assert 'NaN/Inf values in 2 tensor(s)' in message
    assert 'backbone.layer2.0.conv.0.conv.weight' in message and 'head.fc.bias' in message


def _test_tool(argv, capsys):
    code = tool_status(import_tool('tools/test.py').main, argv)
    return code, capsys.readouterr()


@pytest.mark.parametrize(
    'name, form',
    [
        ('mbv2_5', 'positional'),
        ('mbv2_5', '--checkpoint'),
        ('resnet18', '--checkpoint'),
        ('nan', 'positional'),
    ],
)
def test_test_tool_refuses_a_checkpoint_that_does_not_fit(
    ckpts, digits_root, tmp_path, capsys, form, name
):
    given = [ckpts[name]] if form == 'positional' else ['--checkpoint', ckpts[name]]
    argv = [DIGITS_CONFIG, *given, '--work-dir', str(tmp_path / 'wd'), '--cfg-options']
    argv += [f'data_root={digits_root}', 'model.head.num_classes=3', *NO_WORKERS]
    code, out = _test_tool(argv, capsys)
    assert code == 1
    errors = [line for line in out.err.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and ckpts[name] in errors[0], out.err
    assert 'Epoch(test)' not in out.out and not glob.glob(str(tmp_path / 'wd' / '*.json'))


def test_test_tool_wants_at_most_one_checkpoint(ckpts, capsys, tmp_path):
    # None given: the work dir's best, which an empty work dir lacks (named in one line).
    test_main = import_tool('tools/test.py').main
    assert tool_status(test_main, [DIGITS_CONFIG, '--work-dir', str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        f'error: --checkpoint best (no best_*.pth): not found; checkpoints in {tmp_path}: none'
        in err
    )
    with pytest.raises(SystemExit):
        import_tool('tools/test.py').main(
            [DIGITS_CONFIG, ckpts['mbv2_3'], '--checkpoint', ckpts['mbv2_5']]
        )
    assert 'two checkpoints given' in capsys.readouterr().err


def test_test_tool_looks_for_best_in_the_configs_work_dir(capsys, tmp_path):
    # No --work-dir: the work dir the config names, where training wrote its checkpoints.
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    config = tmp_path / 'digits_in_run.py'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\nwork_dir = {str(work_dir)!r}\n')
    assert tool_status(import_tool('tools/test.py').main, [str(config)]) == 1
    assert f'checkpoints in {work_dir}: none' in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize('launcher', ['mim test', 'dist_test.sh'])
def test_mim_test_and_dist_test_refuse_a_checkpoint_that_does_not_fit(
    ckpts, digits_root, tmp_path, launcher
):
    options = ['--cfg-options', f'data_root={digits_root}', 'model.head.num_classes=3']
    options += NO_WORKERS
    if launcher == 'mim test':
        command = ['mim', 'test', 'mmtl', DIGITS_CONFIG, '--checkpoint', ckpts['mbv2_5']]
    else:
        command = ['bash', osp.join(REPO_ROOT, 'tools', 'dist_test.sh'), DIGITS_CONFIG]
        command += [ckpts['mbv2_5'], '2']
    env = tool_env(str(tmp_path), PORT=str(29700 + os.getpid() % 200))
    env['PATH'] = os.pathsep.join([osp.dirname(sys.executable), env.get('PATH', '')])
    result = run_command(
        command + ['--work-dir', str(tmp_path / 'wd'), *options], str(tmp_path), env
    )
    assert result.returncode != 0, describe(result)
    assert 'does not fit the model built from the config (for testing)' in result.stderr
    assert 'set model.head.num_classes=5' in result.stderr
    assert 'Testing finished' not in result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# Training: load_from of another architecture stops; the head swap is one INFO line
# --------------------------------------------------------------------------------------------


def train_runner(digits_root, work_dir, load_from, *extra):
    args = train_parser().parse_args(
        [DIGITS_CONFIG, '--work-dir', str(work_dir), '--no-validate', '--cfg-options']
        + [f'data_root={digits_root}', 'model.head.num_classes=3', f'load_from={load_from}']
        + ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4']
        + ['train_dataloader.dataset.indices=4', *NO_WORKERS, *extra]
    )
    return build_runner(prepare_train_config(args))


def log_text(runner):
    # The logger's own file: mmengine shares one logger between Runners built in the same
    # second (its name is the second-resolution timestamp), whose file is the first one's.
    import logging

    files = [h.baseFilename for h in runner.logger.handlers if isinstance(h, logging.FileHandler)]
    with open(files[0]) as f:
        return f.read()


def test_load_from_another_architecture_stops_before_training(
    ckpts, digits_root, tmp_path, one_thread
):
    runner = train_runner(digits_root, tmp_path / 'wd', ckpts['resnet18'])
    with pytest.raises(CheckpointFitError) as info:
        runner.train()
    message = str(info.value)
    assert 'loads only 0 of 260 backbone tensors (0 %)' in message
    assert 'load_from_partial=True' in message
    assert runner.iter == 0 and not glob.glob(str(tmp_path / 'wd' / '*.pth'))


def test_load_from_partial_allows_it_with_a_warning(ckpts, digits_root, tmp_path, one_thread):
    runner = train_runner(digits_root, tmp_path / 'wd', ckpts['resnet18'], 'load_from_partial=True')
    runner.train()
    assert runner.iter == 1
    line = next(x for x in log_text(runner).splitlines() if 'checkpoint weights:' in x)
    assert 'WARNING' in line and '(0 of 260 backbone tensors)' in line


def test_head_swap_is_one_info_line_without_mmengines_dump(ckpts, digits_root, tmp_path, capsys):
    runner = train_runner(digits_root, tmp_path / 'wd', ckpts['mbv2_5'])
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.load_or_resume()
    printed = capsys.readouterr()
    log = log_text(runner)
    lines = [x for x in log.splitlines() if 'checkpoint weights:' in x]
    assert len(lines) == 1 and ' - INFO - ' in lines[0], lines
    assert '312 tensors loaded (260 of 260 backbone tensors)' in lines[0]
    assert 'head.fc.weight (5, 1280) -> (3, 1280)' in lines[0]
    for text in (log, printed.out, printed.err):
        assert 'size mismatch' not in text and 'do not match exactly' not in text
    loaded = torch.load(ckpts['mbv2_5'], weights_only=False)['state_dict']
    model_state = runner.model.state_dict()
    assert torch.equal(
        model_state['backbone.conv1.conv.weight'], loaded['backbone.conv1.conv.weight']
    )


def test_resume_refuses_another_architecture_and_never_runs_meta_config(
    ckpts, digits_root, tmp_path
):
    marker = tmp_path / 'config_ran'
    state = torch.load(ckpts['mbv2_3'], weights_only=True)['state_dict']
    # mmengine's Runner.resume runs meta['config'] through Config.fromstring (exec).
    meta = {'epoch': 0, 'iter': 0, 'config': f'import os\nos.system("touch {marker}")\n'}
    resumable = str(tmp_path / 'epoch_0.pth')
    torch.save({'meta': meta, 'state_dict': state, 'message_hub': {}}, resumable)
    runner = train_runner(digits_root, tmp_path / 'wd', resumable)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    try:
        runner.resume(resumable)
    except Exception:  # the message hub of this hand-made checkpoint is empty
        pass
    assert not marker.exists()

    runner = train_runner(digits_root, tmp_path / 'wd2', ckpts['resnet18'])
    with pytest.raises(CheckpointFitError, match='for resuming'):
        runner.resume(ckpts['resnet18'])


class Toy(torch.nn.Module):
    """A model with a 20-tensor backbone and a 3-class head, as dotted state-dict keys."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.backbone = torch.nn.Module()
        for i in range(20):
            self.backbone.register_parameter(f'w{i}', torch.nn.Parameter(torch.zeros(2)))
        self.head = torch.nn.Module()
        self.head.fc = torch.nn.Linear(2, classes, bias=False)


def test_transfer_fit_counts_only_the_backbone():
    model = Toy()
    ckpt = {f'backbone.w{i}': torch.ones(2) for i in range(19)}  # 19 of 20: 95 %
    ckpt['head.fc.weight'] = torch.ones(7, 2)
    fit = load_into(model, {'state_dict': ckpt}, 'transfer', source='x.pth')
    assert fit.fraction_loaded('backbone.') == (19, 20) and fit.warn
    assert torch.equal(model.backbone.w0, torch.ones(2)) and model.head.fc.weight.abs().sum() != 14
    del ckpt['backbone.w0']  # 18 of 20: 90 %
    with pytest.raises(CheckpointFitError, match='loads only 18 of 20 backbone tensors'):
        load_into(Toy(), {'state_dict': ckpt}, 'transfer', source='x.pth')
    fit = load_into(Toy(), {'module.backbone.w1': torch.zeros(2)}, 'transfer', allow_partial=True)
    assert fit.loaded == ['backbone.w1']  # mmengine's default key revision applies


def test_exact_fit_loads_everything_or_nothing():
    full = Toy(7).state_dict()
    with pytest.raises(
        CheckpointFitError, match=r'for inference\): 20 of 21 model tensors fit.*1 of another shape'
    ):
        load_into(Toy(), {'state_dict': full}, 'exact', source='a.pth', purpose='inference')
    model = Toy(7)
    fit = load_into(model, {'state_dict': {k: v + 1 for k, v in full.items()}}, 'exact')
    assert fit.exact and torch.equal(model.backbone.w3, torch.ones(2))
    with pytest.raises(ValueError, match="mode must be one of \\('exact', 'transfer'\\)"):
        load_into(model, {'state_dict': full}, 'partial')


# --------------------------------------------------------------------------------------------
# The checkpoint's model card: init_model(CKPT), infer.py CKPT IMAGES, export.py CKPT
# --------------------------------------------------------------------------------------------


def test_init_model_from_the_checkpoint_alone_equals_config_and_checkpoint(ckpts, digits_root):
    images = sorted(glob.glob(osp.join(digits_root, 'test', '*', '*.png')))[::20]
    alone = inference_model(init_model(ckpts['mbv2_3']), images)
    both = inference_model(
        init_model(DIGITS_CONFIG, ckpts['mbv2_3'], cfg_options=options(digits_root)), images
    )
    assert [r['pred_label'] for r in alone] == [r['pred_label'] for r in both]
    for a, b in zip(alone, both):
        assert (a['pred_scores'] == b['pred_scores']).all()
    assert alone[0]['pred_class'] in CLASSES


def test_init_model_without_a_card_asks_for_the_config(ckpts):
    with pytest.raises(Exception, match='carries no mmtl model card.*give its config too'):
        init_model(ckpts['resnet18'])


def test_infer_tool_takes_the_checkpoint_alone_and_cfg_options(ckpts, digits_root, capsys):
    image = sorted(glob.glob(osp.join(digits_root, 'test', '1', '*.png')))[0]
    infer = import_tool('tools/infer.py')
    assert infer.main([ckpts['mbv2_3'], image, '--no-progress']) == 0
    alone = capsys.readouterr().out
    argv = [DIGITS_CONFIG, ckpts['mbv2_3'], image, '--no-progress', '--cfg-options']
    assert infer.main(argv + [f'data_root={digits_root}', 'model.head.num_classes=3']) == 0
    assert capsys.readouterr().out == alone and image in alone
    # --cfg-options reaches the card's config: a 5-class head no longer fits.
    argv = [ckpts['mbv2_3'], image, '--no-progress', '--cfg-options', 'model.head.num_classes=5']
    assert tool_status(infer.main, argv) == 1
    assert 'It was trained for 3 classes and the config builds 5' in capsys.readouterr().err


@pytest.mark.slow
def test_export_tool_takes_the_checkpoint_alone(ckpts, tmp_path):
    out = tmp_path / 'onnx'
    result = run_command(
        [sys.executable, 'tools/deployment/export.py', ckpts['mbv2_3'], '--out', str(out)],
        cwd=REPO_ROOT,
        env=tool_env(str(tmp_path)),
    )
    assert result.returncode == 0, describe(result)
    assert osp.isfile(out / 'model.onnx') and osp.isfile(out / 'deploy.json')


def test_transfer_refuses_non_finite_weights_it_would_load_but_not_a_skipped_head():
    head = torch.full((7, 2), float('nan'))  # another shape: skipped, so harmless
    ckpt = {f'backbone.w{i}': torch.ones(2) for i in range(20)}
    fit = load_into(Toy(), {'state_dict': {**ckpt, 'head.fc.weight': head}}, 'transfer')
    assert fit.non_finite == []
    ckpt['backbone.w4'] = torch.tensor([1.0, float('inf')])
    with pytest.raises(
        CheckpointFitError, match=r'NaN/Inf values in 1 tensor\(s\) \(backbone.w4\)'
    ):
        load_into(Toy(), {'state_dict': ckpt}, 'transfer', source='b.pth')


def test_a_vit_position_embedding_of_another_size_is_resized_and_loaded():
    """DINOv2's weights are trained at 518 px: the ViT's own load hook resizes the position
    embedding, so the fit rule must count it as loaded, not skip it as another shape."""
    from mmpretrain.models import VisionTransformer

    torch.manual_seed(0)
    trained = VisionTransformer(arch='deit-tiny', img_size=64, patch_size=16)
    torch.nn.init.normal_(trained.pos_embed)
    model = torch.nn.Module()
    model.backbone = VisionTransformer(arch='deit-tiny', img_size=32, patch_size=16)
    state = {f'backbone.{k}': v for k, v in trained.state_dict().items()}
    assert state['backbone.pos_embed'].shape[1] == 17 and model.backbone.pos_embed.shape[1] == 5
    fit = load_into(model, {'state_dict': state}, 'transfer', source='dinov2.pth')
    assert 'backbone.pos_embed' in fit.loaded and not fit.other_shape and not fit.warn
    assert torch.equal(model.backbone.cls_token, trained.cls_token)
    # the class token's embedding is kept, the 4 x 4 patch grid resized to 2 x 2
    assert torch.equal(model.backbone.pos_embed[:, 0], trained.pos_embed[:, 0])
    assert model.backbone.pos_embed[:, 1:].abs().sum() > 0
