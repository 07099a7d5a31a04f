"""Every ``type`` of a config must be registered, and every key one that the type accepts.

The accepted keys come from the signatures of the registered types (``__init__`` through the
class hierarchy while it forwards ``**kwargs``); untyped sections are checked against what
mmengine builds from them (DataLoader, the loops, OptimWrapper, ...). A top-level name of a
config file must be read by the Runner or mmtl, defined by a base config, used in the file,
or start with ``_`` (:func:`check_top_level_names`).
"""

import ast
import difflib
import inspect
import os.path as osp
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import Registry
from mmengine.utils import import_modules_from_strings

from mmtl.utils.errors import ConfigError, short_list

#: Top-level keys mmtl reads besides the Runner's (:func:`runner_keys`).
MMTL_TOP_LEVEL_KEYS = frozenset(('_base_', 'data_root', 'input_size', 'load_from_partial'))

#: Keys every typed dict may carry: consumed by mmengine's config and registry machinery.
BUILD_KEYS = frozenset(('type', '_scope_', '_delete_'))

#: Keys the optim wrapper builder takes out of ``optim_wrapper``, typed or not.
OPTIM_WRAPPER_BUILD_KEYS = frozenset(('optimizer', 'constructor', 'paramwise_cfg'))
#: Keys a registry's builder takes out before calling the type (registry name -> keys).
REGISTRY_BUILD_KEYS: Dict[str, FrozenSet[str]] = {
    'hook': frozenset(('priority',)),
    'parameter scheduler': frozenset(('convert_to_iter_based',)),
    'optim_wrapper': OPTIM_WRAPPER_BUILD_KEYS,
}

#: Keys the Runner reads from ``auto_scale_lr`` and ``env_cfg`` (dicts it never passes on).
AUTO_SCALE_LR_KEYS = frozenset(('enable', 'base_batch_size'))
ENV_CFG_KEYS = frozenset(('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'))

_FIELD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _signature_keys(func: Callable, skip_first: bool) -> Tuple[Optional[set], bool]:
    """``(named parameters, takes **kwargs)``; ``(None, True)`` when it cannot be inspected."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None, True
    if skip_first and params:
        params = params[1:]
    names = {p.name for p in params if p.kind in _FIELD_KINDS}
    return names, any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def accepted_keys(obj: Any) -> Optional[FrozenSet[str]]:
    """The keyword arguments a class or function accepts; None when it accepts any.

    An ``__init__`` taking ``**kwargs`` is taken to forward them to the next ``__init__`` of
    the MRO; ``torch.nn.Module`` ends the chain.

    Args:
        obj: A registered class or function.

    Returns:
        frozenset | None: Accepted names, or None when any key may be right.
    """
    if not inspect.isclass(obj):
        names, var_keyword = _signature_keys(obj, skip_first=False)
        return None if var_keyword or names is None else frozenset(names)
    import torch.nn

    keys: set = set()
    forwarding = False  # the last __init__ seen passes **kwargs on
    for klass in obj.__mro__:
        if klass is torch.nn.Module:
            return frozenset(keys)
        if klass is object:  # **kwargs kept by a class of its own: anything may be right
            return None if forwarding else frozenset(keys)
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        names, var_keyword = _signature_keys(init, skip_first=True)
        if names is None:
            return None
        keys |= names
        if not var_keyword:
            return frozenset(keys)
        forwarding = True
    return None


def _registries() -> List[Registry]:
    import mmengine.registry
    import mmpretrain.registry

    from mmtl import registry as mmtl_registry

    found = []
    for module in (mmtl_registry, mmpretrain.registry, mmengine.registry):
        for registry in vars(module).values():
            if isinstance(registry, Registry) and registry not in found:
                registry.import_from_location()
                found.append(registry)
    return found


def registered_types(type_name: Any) -> List[Tuple[str, Any]]:
    """``(registry name, object)`` for every registration of ``type_name``.

    Args:
        type_name: A name (``'ResNet'``, ``'mmpretrain.ResNet'``) or a class.

    Returns:
        list: Possibly several (the same name in different registries); empty if unknown.
    """
    if not isinstance(type_name, str):
        return [('', type_name)] if callable(type_name) else []
    bare = type_name.rpartition('.')[2]
    return [
        (registry.name, registry.module_dict[bare])
        for registry in _registries()
        if bare in registry.module_dict
    ]


def _typed_nodes(node: Any, key: str = '') -> Iterator[Tuple[str, dict]]:
    """``(dotted key, dict)`` of every dict with a ``type`` in the config tree, outside in."""
    if isinstance(node, dict):
        if node.get('type') is not None:
            yield key, node
        for child_key, child in node.items():
            yield from _typed_nodes(child, f'{key}.{child_key}' if key else str(child_key))
    elif isinstance(node, (list, tuple)):
        for index, child in enumerate(node):
            yield from _typed_nodes(child, f'{key}.{index}')


def _check_keys(node: dict, key: str, owner: str, accepted: FrozenSet[str]) -> None:
    """Refuse the first key of ``node`` not in ``accepted``."""
    for bad in map(str, node):
        if bad not in accepted:
            listed = sorted(k for k in accepted if not k.startswith('_') and k not in BUILD_KEYS)
            raise ConfigError(
                f'{key}.{bad}: {owner} takes no argument {bad!r}{suggestion(bad, listed)}; '
                f'it takes {short_list(listed, 15)}'
            )


def _section_schemas(cfg: Config) -> Dict[str, Tuple[str, FrozenSet[str]]]:
    """Untyped top-level sections -> (what builds them, accepted keys)."""
    from mmengine.optim import OptimWrapper
    from mmengine.runner import (
        EpochBasedTrainLoop,
        IterBasedTrainLoop,
        LogProcessor,
        TestLoop,
        ValLoop,
        set_random_seed,
    )
    from torch.utils.data import DataLoader

    loader = ('torch DataLoader', accepted_keys(DataLoader) | {'num_batch_per_epoch'})
    train_cfg = cfg.get('train_cfg') or {}
    train_loop = EpochBasedTrainLoop if train_cfg.get('by_epoch', True) else IterBasedTrainLoop
    loop_keys = {'runner', 'dataloader', 'evaluator'}
    return {
        'train_dataloader': loader,
        'val_dataloader': loader,
        'test_dataloader': loader,
        'train_cfg': (train_loop.__name__, accepted_keys(train_loop) - loop_keys | {'by_epoch'}),
        'val_cfg': ('ValLoop', accepted_keys(ValLoop) - loop_keys),
        'test_cfg': ('TestLoop', accepted_keys(TestLoop) - loop_keys),
        'optim_wrapper': ('OptimWrapper', accepted_keys(OptimWrapper) | OPTIM_WRAPPER_BUILD_KEYS),
        'log_processor': ('LogProcessor', accepted_keys(LogProcessor)),
        'randomness': ('set_random_seed', accepted_keys(set_random_seed)),
        'auto_scale_lr': ('auto_scale_lr', AUTO_SCALE_LR_KEYS),
        'env_cfg': ('env_cfg', ENV_CFG_KEYS),
    }


def check_config_keys(cfg: Config) -> None:
    """Every ``type='...'`` must name a class or function of mmtl's, mmpretrain's or mmengine's
    registries (after ``custom_imports``, as the Runner does), and every key must be one that
    the type it configures accepts.

    Args:
        cfg (Config): The config (file + overrides), resolved or not.

    Raises:
        ConfigError: ``<dotted key>.type='X': no such type ... (did you mean 'Y'?)``, or
            ``<dotted key>: <Type> takes no argument 'x' (did you mean 'y'?); it takes ...``.
    """
    custom_imports = cfg.get('custom_imports')
    if custom_imports:
        import_modules_from_strings(**custom_imports)
    for section, (owner, accepted) in _section_schemas(cfg).items():
        node = cfg.get(section)
        if isinstance(node, dict) and node.get('type') is None:
            _check_keys(node, section, owner, accepted | BUILD_KEYS)
    for key, typed in _typed_nodes(cfg.to_dict()):
        type_name = typed['type']
        candidates = registered_types(type_name)
        if not candidates:
            known = {name for registry in _registries() for name in registry.module_dict}
            hint = suggestion(str(type_name).rpartition('.')[2], known)
            raise ConfigError(
                f'{key}.type={type_name!r}: no such type in the mmtl, mmpretrain or mmengine '
                f'registries{hint}'
            )
        accepted = BUILD_KEYS
        for registry_name, obj in candidates:
            keys = accepted_keys(obj)
            if keys is None:
                break
            accepted |= keys | REGISTRY_BUILD_KEYS.get(registry_name, frozenset())
        else:
            if key == 'optim_wrapper':  # a typed wrapper: the builder's keys too
                accepted |= OPTIM_WRAPPER_BUILD_KEYS
            owner = type_name if isinstance(type_name, str) else type_name.__name__
            _check_keys(typed, key, owner, accepted)


#: Top-level keys the Runner reads besides the arguments of ``Runner.__init__``.
RUNNER_EXTRA_KEYS = frozenset(
    ('runner_type', 'model_wrapper_cfg', 'custom_imports', 'sync_bn', 'compile', 'work_dir')
)


def runner_keys() -> frozenset:
    """Top-level keys a Runner takes: ``Runner.__init__``'s arguments (``MMTLRunner`` adds
    none) and a few more."""
    from mmengine.runner import Runner

    params = set(inspect.signature(Runner.__init__).parameters)
    return frozenset(params - {'self', 'cfg'}) | RUNNER_EXTRA_KEYS


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` for the closest candidate, or ``''``."""
    candidates = sorted(set(candidates))
    same_case = [c for c in candidates if c.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ''


def _assigned_and_used_names(path: str) -> Tuple[Dict[str, int], set]:
    """Top-level names a Python config assigns (with their line) and the names it reads."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    assigned: Dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    assigned.setdefault(name.id, node.lineno)
    used = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    return assigned, used


def base_config_names(path: str) -> set:
    """Every top-level name that the ``_base_`` configs of ``path`` (and theirs) define.

    Args:
        path (str): A config file.

    Returns:
        set: The names, read from the files (Python configs are parsed, not run).
    """
    import mmengine

    names: set = set()
    for base in Config._get_base_files(path):
        base_path, _ = Config._get_cfg_path(base, path)
        if base_path.endswith('.py'):
            names |= set(_assigned_and_used_names(base_path)[0])
        else:
            names |= set(mmengine.load(base_path))
        names |= base_config_names(base_path)
    return names


def check_top_level_names(cfg: Config) -> None:
    """Refuse a top-level name of the config file that nothing reads, with the closest key.

    Accepted: the Runner's and mmtl's keys, names the base configs define, names the file
    reads itself, and names starting with ``_``. Only files with ``_base_`` are checked (the
    flat copy in a work dir holds its bases' helper variables).

    Args:
        cfg (Config): A config loaded from a Python file (others are not checked).

    Raises:
        ConfigError: ``<file>:<line>: top-level name 'optim_wraper' is not a config key
            (did you mean 'optim_wrapper'?); ...``.
    """
    path = cfg.filename
    if not path or not path.endswith('.py') or not osp.isfile(path):
        return
    assigned, used = _assigned_and_used_names(path)
    if '_base_' not in assigned:
        return
    known = runner_keys() | MMTL_TOP_LEVEL_KEYS | base_config_names(path)
    for name, line in assigned.items():
        if name.startswith('_') or name in known or name in used:
            continue
        hint = suggestion(name, known - {'_base_'})
        raise ConfigError(
            f'{path}:{line}: top-level name {name!r} is not a config key{hint}; a variable of '
            f"your own must start with '_' (e.g. _{name}) or be used in the file"
        )
