"""Check that every image of a config's datasets can be read, under OpenMMLab's tool name.

    python tools/misc/verify_dataset.py CONFIG [--phase train val test] [--out-path FILE]
        [--cfg-options KEY=VALUE ...]

The folders come from the config (``data_root`` and each split's ``data_prefix``, after
``--cfg-options``); each is checked as ``tools/check_dataset.py`` checks a folder: corrupt,
truncated, empty or unreadable images, broken links, classes without images. The bad files
are written to ``--out-path`` (default ``brokenfiles.log``), one ``path: reason`` a line.
Exits with 1 when something is wrong. Also run as ``mim run mmtl verify_dataset CONFIG``.
"""

import argparse
import os.path as osp
import runpy

from mmengine.config import DictAction

from mmtl.utils.cli import exit_tool

CHECK_DATASET = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'check_dataset.py')
PHASES = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Verify the images of a config's datasets")
    parser.add_argument('config', help='config file (or the bare name of an mmtl config)')
    parser.add_argument(
        '--phase', nargs='+', default=['train'], choices=sorted(PHASES), help='splits to check'
    )
    parser.add_argument('--out-path', default='brokenfiles.log', help='file listing bad files')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def split_folder(cfg, phase: str) -> str:
    """The image folder of ``phase``: its dataset's ``data_root`` joined with ``data_prefix``."""
    from mmtl.config.access import innermost_dataset
    from mmtl.utils.errors import ConfigError

    loader = cfg.get(PHASES[phase]) or {}
    dataset = innermost_dataset(loader.get('dataset') or {})
    if not dataset:
        raise ConfigError(f'the config has no {PHASES[phase]}.dataset')
    prefix = dataset.get('data_prefix') or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path') or prefix.get('img') or ''
    folder = osp.join(dataset.get('data_root') or '', prefix)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{PHASES[phase]}.dataset: image folder not found: {folder}')
    return folder


def verify(args: argparse.Namespace) -> bool:
    """Check the folders of ``args.phase``; True when every file is good."""
    from mmtl.config.load import load_config

    cfg = load_config(args.config, args.cfg_options)
    folders = [split_folder(cfg, phase) for phase in args.phase]
    check = runpy.run_path(CHECK_DATASET)
    all_ok, bad = True, []
    for phase, folder in zip(args.phase, folders):
        report = check['scan_split'](folder)
        bad += report.bad_files
        print(
            f'{phase} ({folder}): {report.num_files} files, {len(report.bad_files)} bad, '
            f'{len(report.empty_classes)} classes without images'
            + (f' {report.empty_classes}' if report.empty_classes else '')
        )
        all_ok = all_ok and report.ok
    with open(args.out_path, 'w') as f:
        f.writelines(f'{path}: {reason}\n' for path, reason in bad)
    print(f'{len(bad)} bad files listed in {args.out_path}')
    return all_ok


def main(argv=None) -> int:
    args = parse_args(argv)
    return 0 if verify(args) else 1


if __name__ == '__main__':
    exit_tool(main)
